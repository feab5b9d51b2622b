"""Winograd F(m, r): the derived transforms, the theorem, and the float32 CPU path.

The transforms are checked exactly (SymPy rationals) against the direct correlation on random
integer data, independently of the proof engine; the theorem winograd-transform is proved and
its wrong statements refused; the CPU path is compared with the float64 reference.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy
from sympy import Matrix, Rational

from convproof import reference
from convproof.cpu import winograd
from convproof.symbolic import load, universal
from convproof.symbolic.winograd import (amplification, check_points, growth, points_for,
                                         standard_points, toom_cook)


def _direct(d: Matrix, g: Matrix, m: int) -> Matrix:
    """y[i] = Σ_k g[k] d[i + k]: the correlation the transforms must reproduce."""
    return Matrix([sum(g[k] * d[i + k] for k in range(len(g))) for i in range(m)])


def _winograd_1d(t, d: Matrix, g: Matrix) -> Matrix:
    return t.AT * (t.G * g).multiply_elementwise(t.BT * d)


def _random_integers(rng, count: int) -> Matrix:
    values = rng.integers(-9, 10, size=count)
    values[values == 0] = 7
    return Matrix([int(v) for v in values])


@pytest.mark.parametrize("m, r", [(2, 3), (3, 3), (4, 3), (6, 3), (2, 5), (3, 2), (5, 4),
                                  (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1)])
def test_transforms_are_exact_on_random_integers(m, r, rng):
    t = toom_cook(m, r)
    assert (t.AT.shape, t.G.shape, t.BT.shape) == ((m, t.n), (t.n, r), (t.n, t.n))
    for _ in range(5):
        d, g = _random_integers(rng, t.n), _random_integers(rng, r)
        assert _winograd_1d(t, d, g) == _direct(d, g, m)


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3)])
def test_two_dimensional_nesting_is_exact(m, r, rng):
    """Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A equals the 2-D correlation, exactly."""
    t = toom_cook(m, r, points_for(m, r))
    d = Matrix(t.n, t.n, [int(v) or 3 for v in rng.integers(-9, 10, t.n * t.n)])
    g = Matrix(r, r, [int(v) or 5 for v in rng.integers(-9, 10, r * r)])
    product = (t.G * g * t.G.T).multiply_elementwise(t.BT * d * t.BT.T)
    direct = Matrix(m, m, lambda i, j: sum(g[a, b] * d[i + a, j + b]
                                           for a in range(r) for b in range(r)))
    assert t.AT * product * t.AT.T == direct
    wrong = (t.G * g * t.G.T).multiply_elementwise(t.BT * d * t.BT)
    assert t.AT * wrong * t.AT.T != direct


def test_symbolic_points_give_an_exact_algorithm():
    """F(2,3) with symbolic points: Aᵀ[(G g) ⊙ (Bᵀ d)] - y is identically zero."""
    points = sympy.symbols("u v w")
    t = toom_cook(2, 3, points)
    d, g = Matrix(sympy.symbols("d0:4")), Matrix(sympy.symbols("g0:3"))
    difference = _winograd_1d(t, d, g) - _direct(d, g, 2)
    assert all(sympy.cancel(entry) == 0 for entry in difference)
    at_numbers = t.AT.subs(dict(zip(points, (0, 1, -1))))
    assert at_numbers == toom_cook(2, 3).AT


def test_standard_points_and_their_checks():
    assert standard_points(7) == (0, 1, -1, Rational(1, 2), Rational(-1, 2), 2, -2)
    with pytest.raises(ValueError, match=r"points must be distinct, got \(0, 1, 1\)"):
        check_points((0, 1, 1), 3)
    with pytest.raises(ValueError, match="points must hold 3 finite values, got 2"):
        toom_cook(2, 3, (0, 1))
    with pytest.raises(ValueError, match="m >= 1 and r >= 1, got m=0, r=3"):
        toom_cook(0, 3)
    for point in (0.5, sympy.oo, sympy.zoo):  # a float's Bᵀ held nan: 1/2 and 0.5 are distinct
        with pytest.raises(ValueError, match=f"finite exact values .* got {point}"):
            toom_cook(2, 3, (0, Rational(1, 2), point))


def test_data_transform_has_coprime_integer_rows():
    for m in (2, 4, 6):
        BT = toom_cook(m, 3, points_for(m, 3)).BT
        for row in BT.tolist():
            assert all(v.is_Integer for v in row)
            assert sympy.igcd(*[int(v) for v in row]) == 1


def test_growth_measures():
    """β/r of F(2,3), by hand: ‖G_l‖₁‖Bᵀ_l‖₁ = 2, 3, 3, 2 and both rows of Aᵀ pick 8 of it.
    The entries grow with m, and the accurate F(4,3) points amplify less than the standard."""
    assert amplification(toom_cook(2, 3)) == Rational(8, 3)
    table = [growth(m, 3) for m in range(2, 9)]
    assert all(a.max_entry["Aᵀ"] < b.max_entry["Aᵀ"] for a, b in zip(table[3:], table[4:]))
    assert table[-1].amplification > 50 * table[0].amplification
    assert amplification(toom_cook(4, 3, points_for(4, 3))) < amplification(toom_cook(4, 3))
    assert all(value >= 1 for row in table for value in row.condition.values())


def test_theorem_is_proved_and_its_mutants_refused():
    theorem = load("winograd-transform")
    result = theorem.prove()
    assert result.ok, result.message
    names = {e.claim.name for e in result.evidence if e.claim is not None}
    assert {"F(m,r) for all m, r", "F(m x m,r x r) for all m, r", "F(2,3)", "F(4,3)", "F(6,3)",
            "F(2,5)", "F(3,2)", "F(2,3) at symbolic points", "F(2x2,3x3)", "multiplications saved",
            "multiplications saved in 2-D"} <= names
    assert any(name.startswith("F(4x4,3x3)") for name in names)
    details = next(e.details for e in result.evidence if "growth" in e.details)
    assert [row["F"] for row in details["growth"]] == [f"F({m},3)" for m in (*range(2, 9), 4)]
    assert details["growth"][-1]["β/r"] == "148/15"
    interpolation = next(e.details for e in result.evidence if "interpolation" in e.details)
    assert len(interpolation["interpolation"]) == 7
    assert all(row["C E_n = I"] == "yes" for row in interpolation["interpolation"])
    outcomes = [mutant.run() for mutant in theorem.mutants]
    assert len(outcomes) == 6 and all(o["killed"] for o in outcomes), outcomes


def test_the_general_derivation_needs_its_hypotheses():
    """Without "C interpolates" the derivation for all m, r is refused (the step that writes
    [w = j] as Σ_l C[w, l] E_n[l, j] has nothing to stand on), and without c̄ = 1/c the row
    scales of G and Bᵀ do not cancel."""
    from convproof.proofs import winograd_transform as proof
    general = proof.General()
    derivation = proof.general_derivation(general)
    assert universal(general.claim, derivation).ok
    for kept in ((), (proof.INTERPOLATES,), (proof.SCALED,)):
        evidence = universal(dataclasses.replace(general.claim, hypotheses=kept), derivation)
        assert not evidence.ok and "is not a hypothesis of the claim" in evidence.message


def test_the_multiplication_count_is_read_off_y():
    """The count sums over the points at which Y multiplies U by V (it was typed in as m + r - 1,
    so the claim proved only an identity of polynomials)."""
    from convproof.proofs import winograd_transform as proof
    general, l0 = proof.General(), proof.PLANE[0].l
    _, points = general.Y.body  # Σ_l [0 ≤ l ≤ n - 1] Aᵀ[i, l] U[l] V[t, l]
    box = set(sympy.Mul.make_args(proof.hadamard_box([points.var])))
    assert box <= set(sympy.Mul.make_args(points.body))
    assert proof.SAVED.lhs == proof.m_ * proof.r_ - proof.zsum(proof.hadamard_box([l0]), l0)


@pytest.mark.parametrize("tile", [2, 4, 6])
def test_cpu_transforms_come_from_the_derivation(tile):
    """The float64 matrices (and G ⊗ G) equal the exact ones to rounding."""
    exact = toom_cook(tile, 3, points_for(tile, 3))
    AT, G, BT = winograd.transforms(tile, np.dtype(np.float64))
    for actual, matrix in ((AT, exact.AT), (G, exact.G), (BT, exact.BT)):
        dense = np.array(matrix.tolist(), dtype=np.float64)
        np.testing.assert_allclose(actual, dense, rtol=1e-15, atol=1e-15)
    dense_g = np.array(exact.G.tolist(), dtype=np.float64)
    np.testing.assert_allclose(winograd.weight_kronecker(tile, np.dtype(np.float64)),
                               np.kron(dense_g, dense_g), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("rows, size", [(6, 6), (4, 6), (6, 4), (3, 5)])
def test_kronecker_product_applied_one_factor_at_a_time(rows, size, rng):
    """(M ⊗ M) X in two stages equals the dense Kronecker product, for square M (Bᵀ), wide
    (Aᵀ: 4 x 6) and tall (A: 6 x 4)."""
    matrix = rng.standard_normal((rows, size))
    values = rng.standard_normal((size * size, 3, 7))
    expected = (np.kron(matrix, matrix) @ values.reshape(size * size, -1)).reshape(-1, 3, 7)
    capacity = max(rows, size) ** 2 * 21
    spare, out = np.full(capacity, np.nan), np.full(capacity, np.nan)
    actual = winograd._kron_apply(matrix, values, spare=spare, out=out)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)
    # the values may lie in the output's buffer: they are read before it is written
    out[:values.size] = values.ravel()
    in_place = winograd._kron_apply(matrix, out[:values.size].reshape(values.shape),
                                    spare=spare, out=out)
    np.testing.assert_allclose(in_place, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("tile", [2, 4, 6])
def test_output_transform_and_its_adjoint(tile, rng):
    """Y[a, q, b] = ((Aᵀ ⊗ Aᵀ) M)[(a, b), q], and the adjoint satisfies <T M, G> = <M, T* G>."""
    AT = winograd.transforms(tile, np.dtype(np.float64))[0]
    m, n = AT.shape
    products = rng.standard_normal((n * n, 2, 5))
    capacity = n * n * 10
    spare, out = np.full(capacity, np.nan), np.full(capacity, np.nan)
    values = winograd._output_transform(AT, products, spare=spare, out=out).copy()
    dense = (np.kron(AT, AT) @ products.reshape(n * n, -1)).reshape(m, m, -1)
    np.testing.assert_allclose(values, dense.transpose(0, 2, 1), rtol=1e-12, atol=1e-12)
    tiles = rng.standard_normal(values.shape)
    adjoint = winograd._output_transform_adjoint(AT, tiles, spare=spare, out=out)
    assert adjoint.shape == (n * n, 10)
    flat = products.reshape(n * n, -1)
    scale = np.vdot(np.abs(values), np.abs(tiles)) + np.vdot(np.abs(flat), np.abs(adjoint))
    assert abs(np.vdot(values, tiles) - np.vdot(flat, adjoint)) <= 1e-12 * scale  # may cancel


@pytest.mark.parametrize("dilation", [(1, 1), (2, 1), (2, 3)])
def test_cpu_path_float32_error_is_bounded(dilation, rng):
    """F(4x4, 3x3) in float32, against the float64 reference, relative to the largest output:
    below 3e-5 (measured 2e-6 .. 6e-6 for 32 to 512 channels, benchmarks/NOTES.md; the direct
    float32 sum gives ~5e-7)."""
    x = rng.standard_normal((2, 32, 15, 13))
    w = rng.standard_normal((16, 32, 3, 3)) / np.sqrt(9 * 32)
    args = ((1, 1), ((1, 1), (2, 1)), dilation, 1)
    exact = reference.conv(x, w, padding=args[1], dilation=dilation)
    y = winograd.correlate(x.astype(np.float32), w.astype(np.float32), *args)
    assert y.dtype == np.float32
    error = np.abs(y - exact).max() / np.abs(exact).max()
    assert error < 3e-5
