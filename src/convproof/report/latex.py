r"""LaTeX of the proofs' expressions (the Markdown report's dialect of SymPy's LatexPrinter).

Dispatch is by class, in this printer (not by the classes' own ``_latex``):

    ZSum(body, v)        \sum_{v} body                  (a sum over all of Z^D)
    NonNeg(e)            [a \le b]   with e = b - a      (Iverson brackets)
    EqZero(e)            [a = b]
    Divides(s, e)        [s \mid e]
    Partial(f, x[j])     \frac{\partial}{\partial x_{j}} (f)
    signal names         their own LaTeX form (\operatorname{corr}(x), w^{T}, ...)

Mod and floor print as SymPy prints them (a \bmod n, \lfloor a \rfloor); a class of the
project that knows only its own ``_latex`` (a character, an expectation) prints with it.
"""

from __future__ import annotations

from typing import Any

from sympy import Expr, Mul, Symbol
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .notation import (Chain, bracket_chain, leading_terms, plain_operand, power_of_an_operator,
                       remainder, split_product)

_RELATIONS = {"≤": r"\le", "=": "=", "∣": r"\mid"}


class ReportLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the notation of the report."""

    printmethod = "_report_latex"  # no class defines it: the _print_<Class> methods decide

    def _print_ZSum(self, expr: Expr) -> str:
        body = self._print(expr.body)
        if expr.body.is_Add or remainder(expr.body):  # Σ_j (x_j mod 3), not (Σ_j x_j) mod 3
            body = rf"\left({body}\right)"
        return rf"\sum_{{{self._print(expr.var)}}} {body}"

    def _print_Pow(self, expr: Expr) -> str:
        if power_of_an_operator(expr):
            return rf"\left({self._print(expr.base)}\right)^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _print_Mod(self, expr: Expr, exp: str | None = None) -> str:
        value, modulus = (self._print(a) if plain_operand(a) else rf"\left({self._print(a)}\right)"
                          for a in expr.args)
        text = rf"{value} \bmod {modulus}"
        return text if exp is None else rf"\left({text}\right)^{{{exp}}}"

    def _chain(self, chain: Chain) -> str:
        relation = f" {_RELATIONS[chain.relation]} "
        return r"\left[" + relation.join(self._print(t) for t in chain.terms) + r"\right]"

    def _print_Bracket(self, expr: Expr, exp: str | None = None) -> str:
        chain = self._chain(bracket_chain(expr))
        return chain if exp is None else f"{chain}^{{{exp}}}"

    def _print_Partial(self, expr: Expr) -> str:
        body, entry = expr.args
        return (r"\frac{\partial}{\partial " + self._print(entry) + r"} \left("
                + self._print(body) + r"\right)")

    def _print_Symbol(self, symbol: Expr, style: str = "plain") -> str:
        """SymPy's name reading (Greek letters, _sub, hat), and primes after it (gamma' as
        \\gamma', which SymPy leaves as the word gamma')."""
        base = symbol.name.rstrip("'")
        if base and base != symbol.name:
            return super()._print_Symbol(Symbol(base), style) + symbol.name[len(base):]
        return super()._print_Symbol(symbol, style)

    def _print_Multi(self, symbol: Expr) -> str:
        return self._print_Symbol(symbol)

    def _print_SignalName(self, name: Expr) -> str:
        return name._latex_form

    _print_DefinedName = _print_SignalName

    def _print_Mul(self, expr: Expr) -> str:
        if expr.could_extract_minus_sign() and remainder(-expr):  # −(a mod s), not (−a) mod s
            return rf"- \left({self._print(-expr)}\right)"
        parts = split_product(expr)
        if parts is None:
            return super()._print_Mul(expr)
        coefficient, plain = parts.coefficient, parts.plain
        if not parts.brackets and coefficient not in (1, -1) and plain != 1:
            # side by side, SymPy's Mul: 3 \cdot 2^{k}, not 3 2^{k}
            coefficient, plain = 1, Mul(coefficient, plain, evaluate=False)
        pieces = [] if coefficient == 1 else (
            ["-"] if coefficient == -1 else [self._print(coefficient)])
        pieces += [self._chain(chain) for chain in parts.brackets]
        if plain != 1:
            pieces.append(self.parenthesize(plain, PRECEDENCE["Mul"], strict=not remainder(plain)))
        last = len(parts.sums) - 1
        pieces += [self._print(s) if k == last else rf"\left({self._print(s)}\right)"
                   for k, s in enumerate(parts.sums)]
        return " ".join(pieces)

    def _print(self, expr: Expr, **kwargs: Any) -> str:
        """A class of the project that this printer does not know prints its own LaTeX, and
        so do SymPy's constants (π, i, ∞), which the printmethod of the report bypasses."""
        if prints_itself(type(self), expr):
            text = expr._latex(self)
            exp = kwargs.get("exp")
            return text if exp is None else rf"\left({text}\right)^{{{exp}}}"
        if (type(expr).__module__ or "").startswith("sympy.core.numbers") \
                and hasattr(expr, "_latex"):
            return expr._latex(self)
        return super()._print(expr, **kwargs)


def prints_itself(printer: type, expr: Expr) -> bool:
    """Whether ``expr`` is of a class of the project that ``printer`` has no method for and
    that has its own ``_latex`` (the first class of the project in its MRO that has either
    decides; SymPy's classes are left to SymPy)."""
    for cls in type(expr).__mro__:
        if not (cls.__module__ or "").startswith("convproof."):
            return False
        if f"_print_{cls.__name__}" in vars(printer):
            return False
        if "_latex" in vars(cls):
            return True
    return False


def latex(expr: Expr, max_terms: int | None = None) -> str:
    """The report's LaTeX of an expression; a sum of more than ``max_terms`` terms is cut
    after that many, with the number of the others."""
    printer = ReportLatexPrinter()
    shown, omitted = leading_terms(expr, max_terms, printer._as_ordered_terms)
    text = printer.doprint(shown)
    return text + rf" + \dots \text{{ ({omitted} more terms)}}" if omitted else text


def equation_latex(lhs: Expr, rhs: Expr, relation: str = "=",
                   max_terms: int | None = None) -> str:
    """lhs relation rhs, each side as :func:`latex` writes it."""
    return f"{latex(lhs, max_terms)} {relation} {latex(rhs, max_terms)}"
