r"""Presentation MathML from the LaTeX the theorems write by hand (statements, signal names).

A small recursive-descent reader for the notation of the proofs, no more:

    x_{b,g}^{T}  \frac{a}{b}  \sqrt{a}  \sum_{m=0}^{k-1}  \left( ... \right)  \operatorname{corr}
    \text{...}  \mathcal{F}  \tilde{x}  \begin{bmatrix} a & b \\ c & d \end{bmatrix}
    Greek letters, relations (\le, \ne, \mid, \in, \Rightarrow, ...), operators (\ast,
    \otimes, \circ, \bmod, ...), delimiters (\lfloor, \langle, \{, ...), spaces (\quad, \,)

A command it does not know is shown as it was written inside <merror> (drawn in red by the
browser), never dropped: a typo in a statement stays visible.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.dom.minidom import Document, Element

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ",
    "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "ϕ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
IDENTIFIERS = {"partial": "∂", "nabla": "∇", "infty": "∞", "ell": "ℓ", "emptyset": "∅",
               "top": "⊤", "hbar": "ℏ", "aleph": "ℵ"}
OPERATORS = {
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "lt": "<", "gt": ">",
    "cdot": "·", "times": "×", "ast": "∗", "star": "⋆", "circledast": "⊛", "otimes": "⊗",
    "odot": "⊙", "oplus": "⊕", "circ": "∘", "bullet": "•", "pm": "±", "mp": "∓", "div": "÷",
    "in": "∈", "notin": "∉", "ni": "∋", "subset": "⊂", "subseteq": "⊆", "cup": "∪",
    "cap": "∩", "setminus": "∖", "mid": "∣", "nmid": "∤", "parallel": "∥", "perp": "⊥",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "Leftrightarrow": "⇔", "iff": "⟺", "implies": "⟹",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "mapsto": "↦", "approx": "≈", "equiv": "≡",
    "sim": "∼", "simeq": "≃", "cong": "≅", "propto": "∝", "forall": "∀", "exists": "∃",
    "neg": "¬", "lnot": "¬", "wedge": "∧", "land": "∧", "vee": "∨", "lor": "∨", "cdots": "⋯",
    "ldots": "…", "dots": "…", "vdots": "⋮", "ddots": "⋱", "colon": ":", "prime": "′",
    "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "vert": "|", "Vert": "‖", "lvert": "|", "rvert": "|", "lVert": "‖", "rVert": "‖",
    "lbrace": "{", "rbrace": "}", "triangleq": "≜", "coloneqq": "≔",
}
LARGE_OPERATORS = {"sum": "∑", "prod": "∏", "coprod": "∐", "bigcup": "⋃", "bigcap": "⋂",
                   "bigoplus": "⨁", "bigotimes": "⨂", "int": "∫"}
NAMED_FUNCTIONS = {"max", "min", "sup", "inf", "lim", "log", "ln", "exp", "sin", "cos", "tan",
                   "sinh", "cosh", "tanh", "coth", "arcsin", "arccos", "arctan", "sec", "csc",
                   "cot", "det", "dim", "ker", "deg", "gcd", "arg", "Pr", "mod"}
LIMITS_BELOW = {"max", "min", "sup", "inf", "lim"}
SPACES = {"quad": "1em", "qquad": "2em", ",": "0.1667em", ":": "0.2222em", ">": "0.2222em",
          ";": "0.2778em", " ": "0.25em", "!": "-0.1667em", "enspace": "0.5em",
          "thinspace": "0.1667em"}
ESCAPED = {"{": "{", "}": "}", "#": "#", "%": "%", "&": "&", "_": "_", "$": "$", "|": "‖"}
ACCENTS = {"tilde": "~", "widetilde": "~", "hat": "^", "widehat": "^", "bar": "¯",
           "overline": "¯", "vec": "→", "dot": "˙", "ddot": "¨"}
IGNORED = {"displaystyle", "textstyle", "scriptstyle", "limits", "nolimits"}
SIZED_DELIMITERS = {"big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
                    "biggr"}
MATRICES = {"matrix": ("", ""), "pmatrix": ("(", ")"), "bmatrix": ("[", "]"),
            "Bmatrix": ("{", "}"), "vmatrix": ("|", "|"), "Vmatrix": ("‖", "‖"),
            "cases": ("{", ""), "array": ("", ""), "aligned": ("", "")}
TEXT_COMMANDS = {"text", "textrm", "textit", "textbf", "mbox", "mathrm", "operatorname"}

# Letters of the styled alphabets (MathML Core draws mathvariant="normal" only).
_SCRIPT_EXCEPTIONS = {"B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ",
                      "R": "ℛ", "e": "ℯ", "g": "ℊ", "o": "ℴ"}
_FRAKTUR_EXCEPTIONS = {"C": "ℭ", "H": "ℌ", "I": "ℑ", "R": "ℜ", "Z": "ℨ"}
_DOUBLE_STRUCK_EXCEPTIONS = {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ",
                             "Z": "ℤ"}
ALPHABETS = {"mathcal": (0x1D49C, _SCRIPT_EXCEPTIONS), "mathscr": (0x1D49C, _SCRIPT_EXCEPTIONS),
             "mathbb": (0x1D538, _DOUBLE_STRUCK_EXCEPTIONS), "mathbf": (0x1D400, {}),
             "boldsymbol": (0x1D400, {}), "mathfrak": (0x1D504, _FRAKTUR_EXCEPTIONS),
             "mathsf": (0x1D5A0, {})}

_TOKEN = re.compile(r"(?P<command>\\[A-Za-z]+)|(?P<symbol>\\.)|(?P<number>[0-9]+(?:\.[0-9]+)?)"
                    r"|(?P<space>\s+)|(?P<char>.)", re.S)


def tokenize(tex: str) -> list[str]:
    """Commands (\\name), control symbols (\\,), numbers, runs of spaces and single
    characters."""
    return [m.group() for m in _TOKEN.finditer(tex)]


def styled(letter: str, alphabet: str) -> str:
    """A letter of \\mathcal, \\mathbb, \\mathbf, ... as its Unicode mathematical letter."""
    start, exceptions = ALPHABETS[alphabet]
    if letter in exceptions:
        return exceptions[letter]
    if "A" <= letter <= "Z":
        return chr(start + ord(letter) - ord("A"))
    if "a" <= letter <= "z":
        return chr(start + 26 + ord(letter) - ord("a"))
    return letter


def kept_spaces(text: str) -> str:
    """MathML trims the spaces at the ends of a token: write them as no-break spaces."""
    inner = text.strip(" ")
    if not inner:
        return "\u00a0" * len(text)
    leading, trailing = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
    return "\u00a0" * leading + inner + "\u00a0" * trailing


class TexReader:
    """Reads one LaTeX string into MathML elements of ``dom``."""

    def __init__(self, dom: Document, tex: str):
        self.dom, self.tokens, self.position = dom, tokenize(tex), 0

    # -- element helpers ----------------------------------------------------------------------

    def element(self, tag: str, *children: Element | str, **attributes: str) -> Element:
        node = self.dom.createElement(tag)
        for name, value in attributes.items():
            node.setAttribute(name.replace("_", "-"), value)
        for child in children:
            node.appendChild(self.dom.createTextNode(child) if isinstance(child, str) else child)
        return node

    def row(self, items: list[Element]) -> Element:
        return items[0] if len(items) == 1 else self.element("mrow", *items)

    def operator(self, text: str, **attributes: str) -> Element:
        return self.element("mo", text, **attributes)

    def error(self, text: str) -> Element:
        return self.element("merror", self.element("mtext", text))

    # -- reading ------------------------------------------------------------------------------

    def peek(self) -> str | None:
        """The next token; spaces are skipped (math mode ignores them)."""
        while self.position < len(self.tokens) and self.tokens[self.position].isspace():
            self.position += 1
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.position += token is not None
        return token

    def read(self) -> Element:
        """The whole string as one mrow; stray closers are shown as errors."""
        items = self.sequence(set())
        while self.peek() is not None:
            items.append(self.error(self.take()))
            items += self.sequence(set())
        root = self.element("mrow", *items)
        for node in root.getElementsByTagName("*"):
            if node.hasAttribute("data-limits"):  # a limits marker that met no script
                node.removeAttribute("data-limits")
        return root

    def sequence(self, stops: set[str]) -> list[Element]:
        """Items up to (not including) a token in ``stops`` or a closer."""
        items: list[Element] = []
        while self.peek() is not None and self.peek() not in stops | {"}", r"\right", r"\end"}:
            item = self.item()
            if item is not None:
                items.append(item)
        return items

    def group(self) -> Element:
        """{...} after its opening brace."""
        items = self.sequence(set())
        if self.take() != "}":
            items.append(self.error("missing }"))
        return self.row(items) if items else self.element("mrow")

    def argument(self) -> Element:
        """A command's argument: a braced group or one token (one digit of a number, as in
        x^23 = x^{2}3 and \\frac12)."""
        token = self.take()
        if token == "{":
            return self.group()
        if token is None:
            return self.error("missing argument")
        if token[0].isdigit() and len(token) > 1:
            self.tokens[self.position - 1:self.position] = [token[0], token[1:]]
        self.position -= 1
        return self.atom() or self.element("mrow")

    def raw_argument(self) -> str:
        """The text of a braced argument as written, spaces included (for \\text and
        environment names)."""
        if self.peek() != "{":
            return self.take() or ""
        self.take()
        depth, parts = 1, []
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            self.position += 1
            depth += (token == "{") - (token == "}")
            if depth == 0:
                break
            parts.append(token)
        return "".join(parts)

    def item(self) -> Element | None:
        """An atom with its sub- and superscripts (primes first in the superscript: x'^2 is
        x^{′2}); a second subscript or superscript is shown as the error TeX makes of it."""
        base = self.atom()
        limits = base is not None and base.getAttribute("data-limits") == "true"
        while self.peek() in (r"\limits", r"\nolimits"):
            limits = base is not None and self.take() == r"\limits"
        below = above = None
        primes: list[Element] = []
        errors: list[Element] = []
        while self.peek() in ("_", "^", "'"):
            token = self.take()
            if token == "'" and above is None:
                primes.append(self.operator("′"))
            elif (token == "_" and below is not None) or (token != "_" and above is not None):
                errors.append(self.error(f"double {'sub' if token == '_' else 'super'}script"))
                if token != "'":
                    errors.append(self.argument())
            elif token == "_":
                below = self.argument()
            else:
                above = self.argument()
        if primes:
            above = self.row(primes + ([above] if above is not None else []))
        if base is None and below is None and above is None:
            return None
        base = base if base is not None else self.element("mrow")
        if base.getAttribute("data-limits"):
            base.removeAttribute("data-limits")
        if below is not None and above is not None:
            scripted = self.element("munderover" if limits else "msubsup", base, below, above)
        elif below is not None:
            scripted = self.element("munder" if limits else "msub", base, below)
        elif above is not None:
            scripted = self.element("mover" if limits else "msup", base, above)
        else:
            scripted = base
        return self.row([scripted, *errors])

    def atom(self) -> Element | None:
        token = self.take()
        if token is None or token in ("_", "^", "'"):
            if token is not None:
                self.position -= 1
            return None
        if token == "{":
            return self.group()
        if token == "}":
            return self.error(token)
        if token.startswith("\\"):
            return self.command(token[1:])
        if token[0].isdigit():
            return self.element("mn", token)
        if token.isalpha():
            return self.element("mi", token)
        if token == "~":
            return self.element("mspace", width="0.25em")
        if token in "&":
            return self.error(token)
        return self.operator({"-": "−", "*": "∗"}.get(token, token),
                             **({"stretchy": "false"} if token in "()[]|" else {}))

    # -- commands -----------------------------------------------------------------------------

    def command(self, name: str) -> Element | None:
        for table, build in self._tables():
            if name in table:
                return build(name, table[name])
        handler = self._handlers().get(name)
        if handler is not None:
            return handler(name)
        if name in IGNORED or name in SIZED_DELIMITERS:
            return self.delimiter() if name in SIZED_DELIMITERS else None
        return self.error("\\" + name)

    def _tables(self) -> list[tuple[dict, Callable[[str, str], Element]]]:
        return [
            (GREEK, lambda name, text: self.element("mi", text, **(
                {"mathvariant": "normal"} if name[0].isupper() else {}))),
            (IDENTIFIERS, lambda name, text: self.element("mi", text)),
            (OPERATORS, lambda name, text: self.operator(text)),
            (LARGE_OPERATORS, lambda name, text: self.element(
                "mo", text, largeop="true", movablelimits="true",
                **({} if name == "int" else {"data_limits": "true"}))),
            (SPACES, lambda name, width: self.element("mspace", width=width)),
            (ESCAPED, lambda name, text: self.operator(text)),
        ]

    def _handlers(self) -> dict[str, Callable[[str], Element | None]]:
        return {
            **{name: self.named_function for name in NAMED_FUNCTIONS},
            **{name: self.text for name in TEXT_COMMANDS},
            **{name: self.alphabet for name in ALPHABETS},
            **{name: self.accent for name in ACCENTS},
            "frac": self.fraction, "dfrac": self.fraction, "tfrac": self.fraction,
            "binom": self.binomial, "sqrt": self.root, "left": self.fenced,
            "begin": self.environment, "bmod": self.modulo, "pmod": self.modulo,
            "underline": self.underline, "\\": lambda name: self.element("mspace", width="1em"),
            **{name: lambda name: self.argument() for name in ("mathrel", "mathbin", "mathop",
                                                               "mathord")},
        }

    def named_function(self, name: str) -> Element:
        node = self.element("mi", name)
        if name in LIMITS_BELOW:
            node.setAttribute("data-limits", "true")
        return node

    def text(self, name: str) -> Element:
        content = self.raw_argument()
        if name == "operatorname":
            return self.element("mi", content, mathvariant="normal")
        if name == "mathrm":
            return self.element("mi", content, mathvariant="normal")
        return self.element("mtext", kept_spaces(content))

    def alphabet(self, name: str) -> Element:
        content = self.raw_argument()
        if not content.isalpha():
            return self.error(f"\\{name}{{{content}}}")
        return self.element("mi", "".join(styled(letter, name) for letter in content))

    def accent(self, name: str) -> Element:
        return self.element("mover", self.argument(), self.operator(ACCENTS[name]),
                            accent="true")

    def underline(self, name: str) -> Element:
        return self.element("munder", self.argument(), self.operator("_"), accentunder="true")

    def fraction(self, name: str) -> Element:
        return self.element("mfrac", self.argument(), self.argument())

    def binomial(self, name: str) -> Element:
        stack = self.element("mfrac", self.argument(), self.argument(), linethickness="0")
        return self.element("mrow", self.operator("("), stack, self.operator(")"))

    def root(self, name: str) -> Element:
        if self.peek() == "[":
            self.take()
            index = self.row(self.sequence({"]"})) if self.peek() != "]" else self.element("mrow")
            self.take()
            return self.element("mroot", self.argument(), index)
        return self.element("msqrt", self.argument())

    def modulo(self, name: str) -> Element:
        if name == "bmod":
            return self.operator("mod", lspace="0.2778em", rspace="0.2778em")
        argument = self.argument()
        return self.element("mrow", self.element("mspace", width="0.4em"), self.operator("("),
                            self.element("mi", "mod"), self.element("mspace", width="0.3333em"),
                            argument, self.operator(")"))

    def delimiter(self) -> Element:
        """The delimiter after \\left, \\right or \\big: a character or a command."""
        token = self.take()
        if token is None or token == ".":
            return self.element("mrow")
        if token.startswith("\\"):
            name = token[1:]
            text = OPERATORS.get(name) or ESCAPED.get(name)
            if text is None:
                return self.error(token)
            token = text
        return self.operator(token, fence="true", stretchy="true")

    def fenced(self, name: str) -> Element:
        """\\left( ... \\right): delimiters that grow with what they enclose."""
        opening = self.delimiter()
        items = self.sequence(set())
        if self.peek() == r"\right":
            self.take()
            closing = self.delimiter()
        else:
            closing = self.error("missing \\right")
        return self.element("mrow", opening, *items, closing)

    def environment(self, name: str) -> Element:
        kind = self.raw_argument()
        if kind.rstrip("*") not in MATRICES:
            return self.error(f"\\begin{{{kind}}}")
        if kind == "array":
            self.raw_argument()  # the column layout
        opening, closing = MATRICES[kind.rstrip("*")]
        rows, cells = [], []
        while True:
            cells.append(self.element("mtd", *self.sequence({"&", r"\\"})))
            token = self.take()
            if token == "&":
                continue
            rows.append(self.element("mtr", *cells))
            cells = []
            if token != r"\\":
                break
        if token == r"\end":
            self.raw_argument()
        else:
            rows.append(self.element("mtr", self.element("mtd", self.error("missing \\end"))))
        table = self.element("mtable", *rows)
        fences = [self.operator(opening, fence="true", stretchy="true")] if opening else []
        fences_after = [self.operator(closing, fence="true", stretchy="true")] if closing else []
        return self.element("mrow", *fences, table, *fences_after)


def tex_to_mathml(dom: Document, tex: str) -> Element:
    """The MathML (an mrow of ``dom``) of a LaTeX string."""
    return TexReader(dom, tex).read()
