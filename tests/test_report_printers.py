"""The report's printers: the LaTeX and MathML dialects of the project's expressions, and the
reader of hand-written LaTeX.  Iverson brackets are checked by value (the printed relation
holds exactly when the bracket is 1, on random integers), formulas by XML parsing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import sympy

from convproof.catalog import CATALOG
from convproof.report.latex import latex
from convproof.report import markdown
from convproof.report.markdown import text as markdown_text
from convproof.report.mathml import equation, mathml, tex_mathml
from convproof.report.notation import bracket_chain, chained
from convproof.report.sections import StepView
from convproof.symbolic import Signal, eq, le, load, lt, multi, scalar, zsum
from convproof.symbolic.language import Divides, Partial

m, j, t = multi("m j t")
k, n, s = scalar("k n s", positive=True)
a, b = scalar("a b")
x, w = Signal("x"), Signal("w")
corr = Signal("corr_x", r"\operatorname{corr}(x)", lambda i_: zsum(w[m] * x[i_ + m], m),
              arity=1)
RELATIONS = {"≤": lambda u, v: u <= v, "=": lambda u, v: u == v, "∣": lambda u, v: v % u == 0}


def parsed(math: str) -> ET.Element:
    """The <math> element, parsed: fails on anything that is not well-formed XML."""
    root = ET.fromstring(math)
    assert root.tag == "math"
    return root


def texts(root: ET.Element) -> list[str]:
    return [node.text for node in root.iter() if node.text]


# --------------------------------------------------------------------------------------------
# Iverson brackets, by value
# --------------------------------------------------------------------------------------------

def test_a_bracket_prints_a_relation_that_holds_exactly_when_the_bracket_is_one(rng):
    brackets = [le(0, m), le(m, k - 1), lt(a - 2 * b, n), eq(j, s * a + 2 * m - n),
                Divides(s, j - a), le(3 * a + 1, 2 * b - k)]
    symbols = [m, k, a, b, n, j, s]
    for _ in range(60):
        values = {sym: int(rng.integers(1 if sym in (k, n, s) else -6, 7)) for sym in symbols}
        for bracket in brackets:
            chain = bracket_chain(bracket)
            sides = [int(term.subs(values)) for term in chain.terms]
            assert int(bracket.subs(values)) == RELATIONS[chain.relation](*sides), bracket


def test_brackets_join_into_chains_with_the_same_value(rng):
    brackets = [le(0, m), le(m, k - 1), le(a, b), le(b, n), le(n, 2 * k), eq(j, m + 1)]
    chains = chained(brackets)
    assert len(chains) == 3  # [0 ≤ m ≤ k - 1], [a ≤ b ≤ n ≤ 2k], [j = m + 1]
    for _ in range(60):
        values = {sym: int(rng.integers(-4, 5)) for sym in (m, k, a, b, n, j)}
        product = int(sympy.Mul(*brackets).subs(values))
        holds = all(RELATIONS[c.relation](*(int(u.subs(values)) for u in pair))
                    for c in chains for pair in zip(c.terms, c.terms[1:]))
        assert product == int(holds)


# --------------------------------------------------------------------------------------------
# LaTeX
# --------------------------------------------------------------------------------------------

def test_latex_writes_sums_brackets_and_signals():
    expr = zsum(le(0, m) * le(m, k - 1) * eq(j, s * t + m) * w[m] * x[j], m)
    tex = latex(expr)
    assert tex.startswith(r"\sum_{m} ")
    assert r"\left[0 \le m \le k - 1\right]" in tex
    assert r"\left[m + t s = j\right]" in tex  # negative terms of j - s t - m to the left
    assert "{w}_{m}" in tex and "{x}_{j}" in tex
    assert latex(Divides(s, j)) == r"\left[s \mid j\right]"
    assert latex(corr[t]) == r"{\operatorname{corr}(x)}_{t}"
    assert latex(Partial(w[m] * x[j], x[t])) == (
        r"\frac{\partial}{\partial {x}_{t}} \left({w}_{m} {x}_{j}\right)")
    assert r"\bmod" in latex(sympy.Mod(a, n)) and r"\lfloor" in latex(sympy.floor(a / n))


def test_a_sum_comes_last_in_a_product_and_only_the_last_sum_is_bare():
    one = latex(x[t] * zsum(w[m], m))
    assert one == r"{x}_{t} \sum_{m} {w}_{m}"
    two = latex(zsum(w[m], m) * zsum(x[j], j))
    assert two.count(r"\left(\sum") == 1 and two.endswith("}")
    assert latex(-x[t] * le(0, t)) == r"- \left[0 \le t\right] {x}_{t}"


def test_a_power_of_an_operator_keeps_its_parentheses():
    """(Σ_j w_j x_j)² printed as Σ_j w_j x_j² read as another claim (init-variance's
    Var[y] = E[y²] - E[y]² became E[Σ w x²] - ...); roots and reciprocals need none."""
    square = zsum(w[j] * x[j], j) ** 2
    assert latex(square) == r"\left(\sum_{j} {w}_{j} {x}_{j}\right)^{2}"
    root = parsed(mathml(square))
    power = root.find("msup")
    assert power is not None and texts(power)[0] == "(" and texts(power)[-2:] == [")", "2"]
    assert latex(zsum(w[j] ** 2, j)) == r"\sum_{j} {w}_{j}^{2}"
    assert latex(1 / zsum(w[j], j)) == r"\frac{1}{\sum_{j} {w}_{j}}"
    assert latex(sympy.sqrt(zsum(w[j], j))) == r"\sqrt{\sum_{j} {w}_{j}}"
    # an exponent of unknown sign, and a derivative: both bind looser than the power
    assert latex(zsum(w[j], j) ** k) == r"\left(\sum_{j} {w}_{j}\right)^{k}"
    assert latex(zsum(w[j], j) ** a) == r"\left(\sum_{j} {w}_{j}\right)^{a}"
    derivative = latex(Partial(x[t] ** 2, x[t]) ** 2)
    assert derivative.startswith(r"\left(\frac{\partial}") and derivative.endswith(r"\right)^{2}")
    for power in (zsum(w[j], j) ** a, Partial(x[t] ** 2, x[t]) ** 2, zsum(w[j], j) ** -k,
                  zsum(w[j], j) ** (1 - k), zsum(w[j], j) ** sympy.Rational(3, 2),
                  zsum(w[j], j) ** -2):
        assert latex(power).count(r"\left(\sum") + latex(power).count(r"\left(\frac") == 1
        base = parsed(mathml(power)).find(".//msup")[0]
        assert texts(base)[0] == "(" and texts(base)[-1] == ")"


def test_a_number_beside_a_power_of_a_number_is_set_off_by_a_dot():
    """3·2^k Σ w printed 3 2^k Σ w, read as 32^k."""
    for expr in (3 * 2**k * zsum(w[j], j), 3 * 2**k, -3 * 2**k * zsum(w[j], j)):
        assert r"3 \cdot 2^{k}" in latex(expr)
        shown = texts(parsed(mathml(expr)))
        three = next(k for k, text in enumerate(shown) if text in ("3", "−3"))
        assert shown[three + 1] == "·" and "-" not in "".join(shown)
    assert "·" not in texts(parsed(mathml(3 * a * zsum(w[j], j))))


def test_a_remainder_among_terms_keeps_its_parentheses():
    """(a - 1) mod s + 1 in MathML read as a mod (s + 1); the LaTeX kept the parentheses."""
    for expr, first in ((sympy.Mod(a - 1, s) + 1, True), (a - sympy.Mod(a, s), False)):
        row = parsed(mathml(expr))[0]
        fenced = row[0] if first else row[-1]
        assert [node.text for node in fenced][0::2] == ["(", ")"]
        assert "mod" in texts(fenced)
    assert texts(parsed(mathml(sympy.Mod(a, s)))) == ["a", "mod", "s"]
    # a factor of a product, and a negated one: 2 (a mod s) Σ, −(a mod s) − 3
    for expr, shown in ((2 * sympy.Mod(a, s) * zsum(w[j], j), r"2 \left(a \bmod s\right) \sum"),
                        (-sympy.Mod(a, s) - 3, r"- \left(a \bmod s\right)")):
        assert shown in latex(expr)
        words = texts(parsed(mathml(expr)))
        assert words[words.index("a") - 1] == "(" and words[words.index("s") + 1] == ")"


def test_a_shift_is_labelled_by_its_amount():
    """Every shift printed τ_t, so corr(τ_{s t} x) = τ_t corr(x) read as plain equivariance."""
    claim = load("strided-equivariance").claims["multiples of the stride"]
    assert r"\tau_{s t}" in latex(claim.lhs) and r"\tau_{t}" in latex(claim.rhs)


def test_a_long_sum_is_cut_with_the_count_of_the_rest():
    expr = sympy.Add(*(w[i] for i in range(30)))
    tex = latex(expr, max_terms=5)
    assert tex.count("{w}_") == 5 and "(25 more terms)" in tex
    math = mathml(expr, max_terms=5)
    assert "\u00a0(25 more terms)" in "".join(texts(parsed(math)))  # MathML trims a space
    assert latex(expr).count("{w}_") == 30


# --------------------------------------------------------------------------------------------
# MathML
# --------------------------------------------------------------------------------------------

def test_mathml_writes_the_same_notation_as_well_formed_xml():
    expr = zsum(le(0, m) * le(m, k - 1) * eq(j, s * t + m) * w[m] * x[j - 1], m)
    root = parsed(mathml(expr, display=True))
    assert root.get("display") == "block"
    words = texts(root)
    assert "∑" in words and words.count("≤") == 2 and "=" in words and "−" in words
    assert "-" not in words and not any("&" in word for word in words)
    munder = root.find(".//munder")
    assert [node.text for node in munder] == ["∑", "m"]
    subscripts = [node for node in root.iter("msub")]
    assert all("(" not in "".join(texts(node)) for node in subscripts)
    assert "mod" in texts(parsed(mathml(sympy.Mod(a, n))))
    assert "∣" in texts(parsed(mathml(Divides(s, j))))
    assert "∂" in texts(parsed(mathml(Partial(w[m] * x[j], x[t]))))


def test_a_signal_name_is_its_latex_form_read_into_mathml():
    root = parsed(mathml(corr[t]))
    assert root.find(".//msub") is not None
    assert "corr" in texts(root) and "x" in texts(root)


def test_equation_puts_the_relation_between_the_sides():
    root = parsed(equation(x[t], w[t], "≠"))
    assert texts(root).count("≠") == 1


def test_every_statement_and_every_step_of_a_theorem_prints_as_well_formed_mathml():
    theorem = load("strided-equivariance")
    parsed(tex_mathml(theorem.statement, display=True))
    for evidence in theorem.prove().evidence:
        if evidence.derivation is not None:
            for step in evidence.derivation.steps:
                parsed(mathml(step.expr, display=True, prefix="="))
                assert latex(step.expr)


# --------------------------------------------------------------------------------------------
# Hand-written LaTeX
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tex, tag, content", [
    (r"\frac{a}{b}", "mfrac", ["a", "b"]),
    (r"\sum_{r=0}^{s-1} x_r", "munderover", ["∑", "r", "=", "0", "s", "−", "1", "x", "r"]),
    (r"x_{b,g}^{T}", "msubsup", ["x", "b", ",", "g", "T"]),
    (r"\left\lfloor \frac{n}{s} \right\rfloor", "mfrac", ["⌊", "n", "s", "⌋"]),
    (r"\mathcal{F}(x)_\kappa", "msub", ["ℱ", "(", "x", ")", "κ"]),
    (r"\tilde{x}_{b}", "mover", ["x", "~", "b"]),
    (r"x'^2", "msup", ["x", "′", "2"]),
    (r"\sum\limits_{i}^{n} a", "munderover", ["∑", "i", "n", "a"]),
    (r"x^23", "msup", ["x", "2", "3"]),
    (r"\frac12", "mfrac", ["1", "2"]),
    (r"\mathfrak{R} \mathfrak{a}", "mrow", ["ℜ", "𝔞"]),
    (r"\langle x, y \rangle \ne 0 \Rightarrow s \nmid t", "mrow",
     ["⟨", "x", ",", "y", "⟩", "≠", "0", "⇒", "s", "∤", "t"]),
])
def test_tex_reader_builds_the_structure(tex, tag, content):
    root = parsed(tex_mathml(tex))
    assert root.find(f".//{tag}") is not None
    assert texts(root) == content


def test_tex_reader_reads_a_matrix_and_keeps_text_spaces():
    root = parsed(tex_mathml(r"W = \begin{bmatrix} 0 & 1 \\ k_1 & 2 \end{bmatrix}"))
    rows = root.findall(".//mtr")
    assert [len(row.findall("mtd")) for row in rows] == [2, 2]
    words = texts(parsed(tex_mathml(r"\text{for } s \text{ no shift}")))
    assert words == ["for\u00a0", "s", "\u00a0no shift"]


@pytest.mark.parametrize("tex, shown", [
    (r"a \quadb", r"\quadb"), (r"x \undefinedcommand y", r"\undefinedcommand"),
    (r"{a", "missing }"), (r"a}", "}"), (r"\left( a", r"missing \right"),
    (r"x^a^b", "double superscript"), (r"x_a_b", "double subscript"),
])
def test_tex_reader_shows_what_it_cannot_read(tex, shown):
    root = parsed(tex_mathml(tex))
    errors = ["".join(texts(node)) for node in root.iter("merror")]
    assert shown in errors


def test_every_catalog_statement_reads_into_well_formed_mathml_without_unknown_commands():
    unknown = {}
    for theorem_id in CATALOG:
        statement = load(theorem_id).statement  # every catalog theorem must load
        root = parsed(tex_mathml(statement, display=True))
        errors = ["".join(texts(node)) for node in root.iter("merror")]
        if errors:
            unknown[theorem_id] = errors
    assert not unknown, f"statements with LaTeX the report cannot read: {unknown}"


def test_markdown_text_escapes_what_markdown_would_read():
    assert markdown_text("x_i * y | [a](b) $5 <b> #1 `c` \\ &lt;") == (
        r"x\_i \* y \| \[a\](b) \$5 \<b\> \#1 \`c\` \\ \&lt;")
    assert markdown.code("a`b") == "``a`b``" and markdown.code("`x") == "`` `x ``"
    assert markdown.fenced("```\ncode") == "````text\n```\ncode\n````"


def test_a_step_without_a_reason_has_no_empty_emphasis():
    step = StepView(2, "algebra", "exact polynomial arithmetic", "", sympy.Integer(1), False,
                    True, "")
    line = markdown._step(step).split("\n")[0]
    assert line == "2\\. **algebra**: exact polynomial arithmetic."


@pytest.mark.parametrize("name, shown", [
    ("phi", "ϕ"), ("vhat", "v^"), ("gbar", "g¯"), ("gamma'", "γ′"), ("phi_2", "ϕ2"),
    ("corr", "corr"), ("x_1", "x1")])
def test_a_name_prints_as_one_symbol_in_both_reports(name, shown):
    """The MathML printer reads a name as the LaTeX printer writes it (ϕ for phi, v̂ for
    vhat), for symbols and function names alike; a word stays one identifier."""
    symbol, function = sympy.Symbol(name), sympy.Function(name)(sympy.Symbol("z"))
    assert "".join(texts(parsed(mathml(symbol)))) == shown
    assert "".join(texts(parsed(mathml(function)))) == shown + "(z)"
    assert latex(symbol) == {"gamma'": r"\gamma'"}.get(name, sympy.latex(symbol))
    if name == "corr":
        assert [node.text for node in parsed(mathml(symbol)).iter("mi")] == ["corr"]


def test_a_signal_name_has_one_latex_form():
    """SymPy caches a symbol by name, so a second LaTeX form for a signal name would print
    for every claim that holds the name: refused."""
    Signal("probe_signal", r"\beta")
    assert Signal("probe_signal", r"\beta").latex == r"\beta"
    with pytest.raises(ValueError, match="the signal 'probe_signal' is printed '\\\\\\\\beta' "
                                         "already, not 'b'"):
        Signal("probe_signal", "b")


def test_a_random_expression_prints_in_both_dialects(rng):
    """Sums of products of brackets, entries and sums, drawn at random: both printers accept
    them, the MathML parses, and every bracket of the expression shows up in both."""
    for _ in range(10):
        factors = [le(int(rng.integers(-3, 3)), m), eq(j, m + int(rng.integers(1, 4)) * t),
                   w[m + int(rng.integers(0, 3))], x[j]]
        chosen = [f for f in factors if rng.random() < 0.7] or [x[j]]
        expr = zsum(sympy.Mul(*chosen), m) * (1 + np.int64(rng.integers(1, 5)).item() * x[t])
        tex, root = latex(expr), parsed(mathml(expr))
        brackets = sum(1 for f in chosen if f.func.__name__ in ("NonNeg", "EqZero"))
        assert tex.count(r"\left[") == brackets
        assert texts(root).count("[") == brackets


def test_a_digit_in_a_symbol_s_script_is_a_number():
    """g^2 and x_1 printed their 2 and 1 as identifiers (<mi>, italic)."""
    for name, script in (("g^2", "msup"), ("x_1", "msub")):
        node = parsed(mathml(sympy.Symbol(name))).find(f".//{script}")
        assert [child.tag for child in node] == ["mi", "mn"]


def test_what_a_remainder_sum_power_or_constant_holds_stays_readable():
    """Σ_j (x_j mod 3) printed like (Σ_j x_j) mod 3; (Σ_j x_j)^(-2/3), (g²)² and −(i − j)
    lost their parentheses in MathML; −j mod n read as −(j mod n) in LaTeX; π and i printed
    as the words \\Pi and ImaginaryUnit in LaTeX."""
    sum_of_remainders = zsum(sympy.Mod(x[j], 3), j)
    assert latex(sum_of_remainders) == r"\sum_{j} \left({x}_{j} \bmod 3\right)"
    assert latex(sympy.Mod(zsum(x[j], j), 3)) == r"\left(\sum_{j} {x}_{j}\right) \bmod 3"
    assert latex(sympy.Mod(-a, n)) == r"\left(- a\right) \bmod n"
    assert latex(sympy.pi * sympy.I) == r"i \pi"
    assert latex(sympy.Function("phi")(a)) == r"\phi{\left(a \right)}"  # a class of no module
    assert latex(sympy.Mod(-3, n, evaluate=False)) == r"\left(-3\right) \bmod n"
    for expr in (sum_of_remainders, zsum(x[j], j) ** sympy.Rational(-2, 3),
                 sympy.Symbol("g^2") ** 2, sympy.Symbol("g^2") ** a,
                 sympy.Mul(-1, a - b, evaluate=False)):
        shown = texts(parsed(mathml(expr)))
        assert "(" in shown and ")" in shown, expr
