"""Backward pass and transposed convolution: the theorems reach their catalog levels, every
mutant is killed, the exported claims say what they should, and the operators the proofs
define agree with oracles that do not use the proof engine: the float64 reference and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from convproof import reference
from convproof.spec import PoolSpec
from convproof.proofs import padding_adjoint, pooling_backward
from convproof.symbolic import Point, in_range, load
from convproof.symbolic.operators_jacobian import Entries
from convproof.symbolic.operators_padding import MODES, fits
from convproof.symbolic.operators_pool_backward import first_maximum, tie_rule_selection



# --------------------------------------------------------------------------------------------
# The shapes of the exported claims
# --------------------------------------------------------------------------------------------

def hypothesis_names(claim) -> set[str]:
    return {str(h.lhs) for h in claim.hypotheses}


def test_stride_claims_and_their_sizes():
    theorem = load("stride-is-subsampling")
    assert set(theorem.claims) == {"sizes", "count", "forward", "up is the transpose of sub",
                                   "backward"}
    assert hypothesis_names(theorem.claims["backward"]) == {"a"}
    assert theorem.claims["forward"].hypotheses == ()
    assert {str(s) for s in theorem.claims["forward"].indices} == {"b", "g", "o", "i"}
    assert "floor" in str(theorem.claims["sizes"].lhs)
    assert "floor" not in str(theorem.claims["sizes"].rhs)


def test_matrix_backward_uses_the_banded_matrix_and_the_weight_gradient():
    theorem = load("matrix-backward")
    assert theorem.depends == ("banded-matrix", "grad-weight")
    weight = load("grad-weight").claims["weight gradient"]
    assert theorem.claims["banded weight gradient"].lhs == weight.lhs
    assert hypothesis_names(theorem.claims["Aᵀ is the transposed convolution"]) == {"a"}
    assert any("band" in note for note in theorem.notes)
    steps = [e.derivation.steps for e in theorem.prove().evidence if e.kind == "universal"]
    used = {step.params.get("theorem") for chain in steps for step in chain
            if step.rule == "known result"}
    assert used == {"banded-matrix", "grad-weight"}


def test_duality_claims_both_directions():
    theorem = load("correlation-convolution-duality")
    assert set(theorem.claims) == {"correlation forward", "convolution forward"}
    assert all(hypothesis_names(c) == {"a"} for c in theorem.claims.values())
    assert any("swapped" in note for note in theorem.notes)


def test_padding_claims_per_mode():
    theorem = load("padding-adjoint")
    names = {f"{mode}: {what}" for mode in MODES for what in ("adjoint", "gradient")}
    assert set(theorem.claims) == names | {"two axes"}
    for mode in MODES:
        gradient = theorem.claims[f"{mode}: gradient"]
        assert gradient.hypotheses == () and len(gradient.indices) == 1
        validity = str(theorem.claims[f"{mode}: adjoint"].lhs).count("NonNeg(n - ")
        assert validity == (2 if mode in ("reflect", "circular") else 0), mode


def test_pooling_claims():
    theorem = load("pooling-backward")
    assert set(theorem.claims) == {"average is a correlation", "average backward",
                                   "max routes to the selected tap"}
    assert hypothesis_names(theorem.claims["average backward"]) == {"a"}
    levels = {e.kind for e in theorem.prove().evidence if e.ok}
    assert levels == {"universal", "certified"}


def test_jacobian_crosscheck_covers_every_operator():
    titles = " | ".join(e.title for e in load("jacobian-crosscheck").prove().evidence)
    for operator in ("convolution -> correlation", "transposed convolution", "average pooling",
                     "sub-sampling -> up-sampling", *(f"{mode} padding" for mode in MODES),
                     *(f"{mode}: J against conv_transpose_matrix" for mode in MODES)):
        assert operator in titles, operator


def test_a_matrix_check_of_no_point_or_no_entry_fails():
    """With no point, or only 0 = 0 to compare, the check had said 'J = Tᵀ entry by entry'."""
    from convproof.proofs import jacobian_crosscheck
    from convproof.symbolic.normal import NoPoints
    with pytest.raises(NoPoints, match="at least one point"):
        jacobian_crosscheck.matrix_check("zeros", [])
    points = jacobian_crosscheck._matrix_points("zeros")
    evidence = jacobian_crosscheck.matrix_check("zeros", points)
    assert evidence.ok and "entry by entry on 1 point" in evidence.message


# --------------------------------------------------------------------------------------------
# The operators against the reference and PyTorch
# --------------------------------------------------------------------------------------------

def value(poly: dict, arrays: dict[str, np.ndarray]) -> float:
    """A polynomial in signal entries at float arrays (index tuples into the arrays)."""
    return sum(float(coefficient) * np.prod([arrays[name][index] for name, index in monomial])
               for monomial, coefficient in poly.items())


def padding_cases(rng, mode: str, count: int = 4) -> list[tuple[int, int, int]]:
    cases = []
    while len(cases) < count:
        n, p, q = (int(v) for v in (rng.integers(1, 6), rng.integers(0, 5), rng.integers(0, 5)))
        if fits(mode, ((p, q),), (n,)):
            cases.append((n, p, q))
    return cases


@pytest.mark.parametrize("mode", MODES)
def test_padding_and_its_fold_match_the_reference_and_torch(rng, torch, mode):
    proof = padding_adjoint
    first = Point({proof.n: 1, proof.p: 0, proof.q: 0}, 1)
    length = proof.AXES[mode].length
    pad = Entries(proof.PADDED[mode][proof.j], {proof.j: in_range(proof.j, length)}, first)
    fold = Entries(proof.FOLDED[mode][proof.u], {proof.u: in_range(proof.u, proof.n)}, first)
    torch_mode = "constant" if mode == "zeros" else mode
    for n, p, q in padding_cases(rng, mode):
        at = Point({proof.n: n, proof.p: p, proof.q: q}, 1)
        x, g = rng.standard_normal(n), rng.standard_normal(n + p + q)
        padded = np.zeros(n + p + q)
        for (j,), poly in pad(at).items():
            padded[j] = value(poly, {"x": x})
        folded = np.zeros(n)
        for (u,), poly in fold(at).items():
            folded[u] = value(poly, {"g": g})
        np.testing.assert_allclose(padded, reference.pad(x, ((p, q),), mode), rtol=1e-12)
        np.testing.assert_allclose(folded, reference.pad_adjoint(g, ((p, q),), mode, (n,)),
                                   rtol=1e-12, atol=1e-12)
        tx = torch.tensor(x[None, None], requires_grad=True, dtype=torch.float64)
        torch.nn.functional.pad(tx, (p, q), mode=torch_mode).backward(
            torch.tensor(g[None, None], dtype=torch.float64))
        np.testing.assert_allclose(folded, tx.grad.numpy()[0, 0], rtol=1e-12, atol=1e-12)


def test_average_pooling_backward_matches_torch(rng, torch):
    proof = pooling_backward
    st = proof.st
    for _ in range(3):
        k = int(rng.integers(1, 4))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, k // 2 + 1))
        n = int(rng.integers(k, 8))
        out = PoolSpec((k,), (s,), (p,)).output_size((n,))[0]
        values = {st.n: (n,), st.k: (k,), st.s: (s,), st.d: (1,), st.p: (p,), st.q: (p,),
                  st.batch: 1, st.groups: 1, st.c_in: 2, proof.volume: k}
        values[st.a] = ((n + 2 * p - k) % s,)
        backward = Entries(proof.avg_back[0, 0, proof.c, proof.j1],
                           {proof.c: st.inputs(proof.c), proof.j1: st.pixels(proof.j1)},
                           Point(values, 1))
        grad = rng.standard_normal((1, 2, out))
        mine = np.zeros((1, 2, n))
        for (c, j), poly in backward(Point(values, 1)).items():
            mine[0, c, j] = value(poly, {"G": grad[:, None]})
        x = torch.tensor(rng.standard_normal((1, 2, n)), requires_grad=True)
        torch.nn.functional.avg_pool1d(x, k, s, p, count_include_pad=True).backward(
            torch.tensor(grad))
        np.testing.assert_allclose(mine, x.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_tie_rule_is_the_first_maximum():
    assert first_maximum([1, 3, 3, 2]) == 1
    assert first_maximum([None, 2, None, 2]) == 1
    assert first_maximum([None, None]) is None
    assert first_maximum([5]) == 0


def test_tie_rule_selects_what_torch_max_pool_selects(rng, torch):
    """Inputs with many ties (values 0..2), padding, dilation and overlapping windows."""
    for _ in range(4):
        k = tuple(int(v) for v in rng.integers(1, 4, size=2))
        s = tuple(int(v) for v in rng.integers(1, 3, size=2))
        d = tuple(int(v) for v in rng.integers(1, 3, size=2))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        n = tuple(int(dd * (kk - 1) + 1 + rng.integers(0, 4)) for kk, dd in zip(k, d))
        x = rng.integers(0, 3, size=(1, 2, *n))
        out = PoolSpec(k, s, p, d).output_size(n)
        chosen = tie_rule_selection(x, n, k, s, d, p, out)
        _, index = torch.nn.functional.max_pool2d(torch.tensor(x, dtype=torch.float64), k, s, p,
                                                  d, return_indices=True)
        expected = {}
        for (b, c, *i), flat in np.ndenumerate(index.numpy()):
            pixel = np.unravel_index(flat, n)
            tap = tuple((pp + jj - ss * ii) // dd for pp, jj, ss, ii, dd in zip(p, pixel, s, i, d))
            expected[(b, c, *i, *tap)] = 1
        assert chosen == expected, (n, k, s, d, p)
