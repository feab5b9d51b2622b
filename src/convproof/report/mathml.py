"""Presentation MathML of the proofs' expressions (the HTML report's dialect of SymPy's
MathMLPresentationPrinter).

Dispatch is by class, as in :mod:`.latex`:

    ZSum(body, v)        <munder>∑ v</munder> body
    NonNeg / EqZero / Divides    [a ≤ b ≤ c], [a = b], [s ∣ e]   (Iverson brackets)
    Partial(f, x[j])     ∂/∂x_j (f)
    Indexed x[i, j]      x_{i,j}   (no parentheses around the indices)
    signal names         their LaTeX form, read by :mod:`.texmath`
    symbols, functions   as the LaTeX printer names them (vhat v̂, phi_2 φ₂), read likewise
    Mod(a, n)            a mod n

A class of the project that knows only its own ``_latex`` prints through that LaTeX.  Text is
written escaped, as real characters (no entity references), so every formula is well-formed
XML.
"""

from __future__ import annotations

import html
import re
from typing import Any
from xml.dom.minidom import Document, Element, Text

from sympy import Expr, Pow, Symbol
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE

from .latex import ReportLatexPrinter, prints_itself
from .notation import (Chain, bracket_chain, fenced_base, leading_terms, plain_operand,
                       power_of_an_operator, remainder, split_product)
from .texmath import kept_spaces, tex_to_mathml


def _invisible_times(node: Element | None) -> bool:
    """Whether ``node`` is SymPy's <mo>&InvisibleTimes;</mo> between two factors."""
    return node is not None and node.nodeName == "mo" and node.firstChild is not None \
        and node.firstChild.data == "\u2062"


def _leaf(node: Element, end: int) -> Element:
    """The first (end 0) or last (end -1) element at the bottom of ``node``."""
    while any(child.nodeType == child.ELEMENT_NODE for child in node.childNodes):
        node = [child for child in node.childNodes if child.nodeType == child.ELEMENT_NODE][end]
    return node


class ReportMathMLPrinter(MathMLPresentationPrinter):
    """SymPy's presentation MathML printer with the notation of the report."""

    def __init__(self, settings: dict | None = None):
        super().__init__(settings)
        self.dom.createTextNode = self._text
        self._latex = ReportLatexPrinter()

    def _text(self, data: str) -> Text:
        """An escaped text node; SymPy's entity names (&InvisibleTimes;) become characters
        and its hyphen a minus sign, alone or before a number (-3)."""
        data = html.unescape(data)
        if data == "-" or re.fullmatch(r"-[0-9.]+", data):
            data = "−" + data[1:]
        return Document.createTextNode(self.dom, data)

    def _node(self, tag: str, *children: Element, text: str | None = None) -> Element:
        node = self.dom.createElement(tag)
        if text is not None:
            node.appendChild(self.dom.createTextNode(text))
        for child in children:
            node.appendChild(child)
        return node

    def _mo(self, text: str) -> Element:
        return self._node("mo", text=text)

    def _fenced(self, node: Element) -> Element:
        """(node)."""
        return self._node("mrow", self._mo("("), node, self._mo(")"))

    def _print_Add(self, expr: Expr, order: str | None = None) -> Element:
        """A remainder among the terms in parentheses: (a mod s) + 1, not a mod s + 1."""
        row = super()._print_Add(expr, order)
        terms = self._as_ordered_terms(expr, order=order)
        for k, (term, node) in enumerate(zip(terms, row.childNodes[::2])):
            shown = -term if k and term.could_extract_minus_sign() else term
            if remainder(shown):
                fenced = self._node("mrow", self._mo("("))
                row.replaceChild(fenced, node)
                fenced.appendChild(node)
                fenced.appendChild(self._mo(")"))
        return row

    def _print_ZSum(self, expr: Expr) -> Element:
        sigma = self._mo("∑")
        sigma.setAttribute("largeop", "true")
        body = self._print(expr.body)
        if expr.body.is_Add or remainder(expr.body):
            body = self._fenced(body)
        return self._node("mrow", self._node("munder", sigma, self._print(expr.var)), body)

    def _print_Pow(self, expr: Expr) -> Element:
        base, exponent = expr.args
        if fenced_base(base) and exponent.is_Rational and exponent.is_negative \
                and exponent != -1:
            # SymPy's 1/(base^k) puts the base in the msup unfenced: 1/Σ_j x_j², not 1/(Σ)²
            inverse = Pow(base, -exponent, evaluate=False)
            return self._node("mfrac", self._node("mn", text="1"), self._print(inverse))
        if power_of_an_operator(expr):
            return self._node("msup", self._fenced(self._print(expr.base)),
                              self._print(expr.exp))
        return super()._print_Pow(expr)

    def _chain(self, chain: Chain) -> Element:
        row = self._node("mrow", self._mo("["))
        for k, term in enumerate(chain.terms):
            if k:
                row.appendChild(self._mo(chain.relation))
            row.appendChild(self._print(term))
        row.appendChild(self._mo("]"))
        return row

    def _print_Bracket(self, expr: Expr) -> Element:
        return self._chain(bracket_chain(expr))

    def _print_Partial(self, expr: Expr) -> Element:
        body, entry = expr.args
        fraction = self._node("mfrac", self._mo("∂"),
                              self._node("mrow", self._mo("∂"), self._print(entry)))
        return self._node("mrow", fraction, self._fenced(self._print(body)))

    def _print_Symbol(self, symbol: Expr, style: str = "plain") -> Element:
        """A name the LaTeX printer writes with a command (phi_2 as \\phi_{2}, vhat as
        \\hat{v}) read from that LaTeX, so that both reports show one symbol; other names
        as SymPy prints them (one <mi> for a word such as corr)."""
        tex = self._latex._print(symbol)
        if "\\" in tex:
            return tex_to_mathml(self.dom, tex)
        printed = super()._print_Symbol(symbol, style)
        for script in printed.childNodes[1:]:  # the 2 of g^2 and x_1 a number, not a name
            if script.nodeName == "mi" and script.firstChild is not None \
                    and script.firstChild.data.isdigit():
                printed.replaceChild(self._node("mn", text=script.firstChild.data), script)
        return printed

    def _print_AppliedUndef(self, expr: Expr) -> Element:
        return self._node("mrow", self._print_Symbol(Symbol(expr.func.__name__)),
                          self._paren_comma_separated(*expr.args))

    def _print_Multi(self, symbol: Expr) -> Element:
        return self._print_Symbol(symbol)

    def _print_SignalName(self, name: Expr) -> Element:
        return tex_to_mathml(self.dom, name._latex_form)

    _print_DefinedName = _print_SignalName

    def _print_Indexed(self, expr: Expr) -> Element:
        indices = self._node("mrow")
        for k, index in enumerate(expr.indices):
            if k:
                indices.appendChild(self._mo(","))
            indices.appendChild(self._print(index))
        return self._node("msub", self._print(expr.base), indices)

    def _print_Mod(self, expr: Expr) -> Element:
        value, modulus = (self._print(a) if plain_operand(a) else self._fenced(self._print(a))
                          for a in expr.args)
        return self._node("mrow", value, self._mo("mod"), modulus)

    def _print_Mul(self, expr: Expr) -> Element:
        if expr.could_extract_minus_sign() and (remainder(-expr) or (-expr).is_Add):
            # −(a mod s), not (−a) mod s; an unevaluated −1·(i − j) as −(i − j), not −i − j
            return self._node("mrow", self._mo("−"), self._fenced(self._print(-expr)))
        parts = split_product(expr)
        if parts is None:
            return self._dotted(super()._print_Mul(expr))
        row = self._node("mrow")
        if parts.coefficient == -1:
            row.appendChild(self._mo("−"))
        elif parts.coefficient != 1:
            row.appendChild(self._print(parts.coefficient))
        for chain in parts.brackets:
            row.appendChild(self._chain(chain))
        if parts.plain != 1:
            row.appendChild(self.parenthesize(parts.plain, PRECEDENCE["Mul"],
                                              strict=not remainder(parts.plain)))
        for k, total in enumerate(parts.sums):
            printed = self._print(total)
            if k < len(parts.sums) - 1:
                printed = self._fenced(printed)
            row.appendChild(printed)
        return self._dotted(row)

    def _dotted(self, row: Element) -> Element:
        """3·2^k, not 3 2^k: a factor that starts with a digit is set off by a dot from a
        factor before it that ends with one."""
        factors = [node for node in row.childNodes if not _invisible_times(node)]
        for before, factor in zip(factors, factors[1:]):
            if _leaf(before, -1).tagName == "mn" and _leaf(factor, 0).tagName == "mn":
                between = before.nextSibling
                if _invisible_times(between):
                    row.replaceChild(self._mo("·"), between)
                else:
                    row.insertBefore(self._mo("·"), factor)
        return row

    def _print(self, expr: Expr, **kwargs: Any) -> Element:
        """A class of the project that this printer does not know prints through its LaTeX."""
        if prints_itself(type(self), expr):
            return tex_to_mathml(self.dom, expr._latex(ReportLatexPrinter()))
        return super()._print(expr, **kwargs)


def _math(content: Element, display: bool) -> str:
    math = content.ownerDocument.createElement("math")
    if display:
        math.setAttribute("display", "block")
    math.appendChild(content)
    return math.toxml()


def _printed(printer: ReportMathMLPrinter, expr: Expr, max_terms: int | None) -> Element:
    shown, omitted = leading_terms(expr, max_terms, printer._as_ordered_terms)
    content = printer._print(shown)
    if omitted:
        count = printer._node("mtext", text=kept_spaces(f" ({omitted} more terms)"))
        content = printer._node("mrow", content, printer._mo("+"), printer._mo("…"), count)
    return content


def mathml(expr: Expr, display: bool = False, max_terms: int | None = None,
           prefix: str | None = None) -> str:
    """<math> of an expression, after the operator ``prefix`` if given ("=" for a line of a
    derivation); a sum of more than ``max_terms`` terms is cut after that many, with the
    number of the others."""
    printer = ReportMathMLPrinter()
    content = _printed(printer, expr, max_terms)
    if prefix is not None:
        content = printer._node("mrow", printer._mo(prefix), content)
    return _math(content, display)


def equation(lhs: Expr, rhs: Expr, relation: str = "=", display: bool = False,
             max_terms: int | None = None) -> str:
    """<math> of lhs relation rhs, each side cut as in :func:`mathml`."""
    printer = ReportMathMLPrinter()
    return _math(printer._node("mrow", _printed(printer, lhs, max_terms), printer._mo(relation),
                               _printed(printer, rhs, max_terms)), display)


def tex_mathml(tex: str, display: bool = False) -> str:
    """<math> of a LaTeX string written by hand (a statement)."""
    return _math(tex_to_mathml(Document(), tex), display)
