"""The CudaPrinter: index arithmetic with the proofs' semantics, brackets as C conditions.

C's / truncates toward zero and % is a remainder; the printed functions must give Python's floor
division and modulo for every sign of the operands.  That is checked by running the printed
expressions in a kernel under CPU emulation on fresh random integers, negative ones included,
against Python's // and %.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from convproof.codegen.printer import PRELUDE, CudaPrinter, printer
from convproof.codegen.skeleton import Kernel, Param
from convproof.gpu.emulate import Emulator, compiler_available
from convproof.gpu.launch import elementwise
from convproof.symbolic.language import Divides, EqZero, NonNeg, in_range

a, b, j0, m0, n0, t0 = sympy.symbols("a b j0 m0 n0 t0", integer=True)
v = sympy.Symbol("v", real=True)


@pytest.mark.parametrize("expr, text", [
    (2 * j0 + m0 - 1, "2*j0 + m0 - 1"),
    ((j0 + 1 - m0) / 2, "cp_floordiv(j0 - m0 + 1, 2)"),
    (sympy.floor(a / b), "cp_floordiv(a, b)"),
    (sympy.ceiling((a + 1) / 3), "cp_ceildiv(a + 1, 3)"),
    (sympy.Mod(t0, 2 * n0 - 2), "cp_mod(t0, 2*n0 - 2)"),
    (sympy.Abs(a - 1), "cp_abs(a - 1)"),
    (sympy.Min(sympy.Max(t0, 0), n0 - 1), "cp_min(n0 - 1, cp_max(0, t0))"),
    ((a + 1)**2, "((a + 1)*(a + 1))"),
    (a + NonNeg(b) * EqZero(a), "a + ((0 == a) && (0 <= b))"),
    (sympy.Lt(a / 2, b), "(a < 2*b)"),
], ids=str)
def test_index_expressions(expr, text):
    assert printer("float").index(expr) == text


@pytest.mark.parametrize("expr, text", [
    (NonNeg(n0 - 1 - j0), "(j0 + 1 <= n0)"),
    (EqZero(t0 - j0), "(j0 == t0)"),
    (Divides(2, j0 - m0 + 1), "(cp_mod(j0 - m0 + 1, 2) == 0)"),
    (in_range(j0, n0), "(0 <= j0) && (j0 + 1 <= n0)"),
    (NonNeg((j0 + 1) / 2), "(0 <= cp_floordiv(j0 + 1, 2))"),
    (sympy.Integer(1), "true"),
], ids=str)
def test_brackets_are_conditions(expr, text):
    assert printer("double").condition(expr) == text


def test_float_literals_match_the_dtype():
    relu = sympy.Piecewise((0, v < 0), (v, True))
    assert printer("float").real(relu) == "((v < 0) ? (0.0f) : (v))"
    assert printer("double").real(relu) == "((v < 0) ? (0.0) : (v))"
    assert printer("float").real(v / 4) == "0.25f*v"
    assert printer("double").real(sympy.Max(v, 1)) == "fmax(1.0, v)"


def test_unknown_real_type_is_refused():
    with pytest.raises(ValueError, match="real must be one of .* got 'half'"):
        CudaPrinter({"real": "half"})


# --------------------------------------------------------------------------------------------
# Semantics on negative operands, through the emulator
# --------------------------------------------------------------------------------------------

OPERATIONS = {
    "floordiv": (sympy.floor(a / b), lambda x, y: x // y),
    "ceildiv": (sympy.ceiling(a / b), lambda x, y: -(-x // y)),
    "mod": (sympy.Mod(a, b), lambda x, y: x % y),
    "exact_quotient": ((a - sympy.Mod(a, b)) / b, lambda x, y: (x - x % y) // y),
    "abs": (sympy.Abs(a - b), lambda x, y: abs(x - y)),
    "min": (sympy.Min(a, b), min),
    "max": (sympy.Max(a, b), max),
    # a comparison with a fractional side: a/2 <= b, not floor(a/2) <= b
    "fraction_compare": (sympy.Piecewise((a, a / 2 <= b), (b, True)),
                         lambda x, y: x if x <= 2 * y else y),
    "fraction_equal": (sympy.Piecewise((a, sympy.Eq(3 * b, b + a)), (b, True)),
                       lambda x, y: x if 2 * y == x else y),
    # a product of brackets inside a sum: a + [b >= 0][a >= 0], not (a + [b >= 0]) && ...
    "bracket_product": (a + NonNeg(b) * NonNeg(a), lambda x, y: x + (y >= 0 and x >= 0)),
    # integer powers in integer arithmetic (C's pow is a double: no cp_mod of it)
    "mod_of_square": (sympy.Mod(a**2 + a**3, b), lambda x, y: (x * x + x**3) % y),
    "reciprocal": (1 / b, lambda x, y: 1 // y),
}


def _integer_kernel() -> Kernel:
    """out[k, e] = the k-th operation of OPERATIONS on (a[e], b[e]), printed by CudaPrinter."""
    pr = printer("double")
    lines = "\n".join(f"        out[{k} * count + e] = {pr.index(expr)};"
                      for k, (expr, _) in enumerate(OPERATIONS.values()))
    source = PRELUDE + f"""
extern "C" __global__ void integer_semantics(const long long* __restrict__ x,
    const long long* __restrict__ y, long long* __restrict__ out, long long count) {{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < count;
         e += (long long)gridDim.x * blockDim.x) {{
        const long long a = x[e], b = y[e];
{lines}
    }}
}}
"""
    params = (Param("x", "const long long*"), Param("y", "const long long*"),
              Param("out", "long long*"), Param("count", "long long"))
    return Kernel("integer_semantics", source, params, 64, ())


@pytest.mark.skipif(not compiler_available(), reason="no C++ compiler for the emulation")
def test_floor_division_and_modulo_on_negative_operands(rng, tmp_path):
    x = rng.integers(-60, 61, size=300)
    y = rng.integers(1, 8, size=300) * rng.choice([-1, 1], size=300)
    x[:4], y[:4] = [-7, 7, -6, 0], [2, -2, 3, -5]  # the signs that C's / and % get wrong
    kernel = _integer_kernel()
    out = np.full(len(OPERATIONS) * x.size, -1, dtype=np.int64)
    Emulator(tmp_path).run(elementwise(kernel, x.size, [x, y, out, x.size]))
    for k, (name, (_, expected)) in enumerate(OPERATIONS.items()):
        want = np.array([expected(int(p), int(q)) for p, q in zip(x, y)])
        got = out[k * x.size:(k + 1) * x.size]
        assert np.array_equal(got, want), (name, x[got != want], y[got != want])


@pytest.mark.parametrize("expr", [
    sympy.ceiling(sympy.Max(a / 7, b / 2)), sympy.floor(sympy.Min(sympy.Rational(13, 2), a)),
    sympy.Max(sympy.Rational(1, 5), a)], ids=["ceiling of a max", "floor of a min", "a fraction"])
def test_what_integer_arithmetic_cannot_print_is_refused(expr):
    """ceiling(max(a/7, b/2)) printed the floors of the fractions inside; a fraction alone
    printed as a double (cp_max(1.0/5.0, a))."""
    with pytest.raises(ValueError, match="cannot print"):
        printer("float").index(expr)
