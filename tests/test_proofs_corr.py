"""Convolution versus cross-correlation: the theorems reach their catalog levels, every mutant
is killed, the exported claims say what they should, and the statements hold numerically in
PyTorch's conventions (an oracle independent of the proof engine)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from convproof.symbolic import box, load



# --------------------------------------------------------------------------------------------
# The shapes of the exported claims
# --------------------------------------------------------------------------------------------

def test_commutativity_claims():
    theorem = load("commutativity")
    claims = theorem.claims
    assert set(claims) == {"convolution commutes", "correlation reverses"}
    reverses = claims["correlation reverses"]
    (t,) = reverses.lhs.indices
    assert reverses.rhs.indices == (-t,)
    witness = [e for e in theorem.prove().evidence if e.kind == "refuted"]
    assert witness and all(e.ok for e in witness)


def test_associativity_kernel_size():
    from convproof.proofs import associativity as proof
    assert proof.SIZE.rhs == box(proof.r, 0, proof.taps - 1) * proof.SIZE.lhs
    unit = proof.taps.subs({proof.s1: 1, proof.d1: 1, proof.d2: 1})
    assert sympy.expand(unit - (proof.k1 + proof.k2 - 1)) == 0  # 3 and 3 taps make 5


def test_convolution_theorem_claim_is_the_product_of_transforms():
    claim = load("convolution-theorem").claims["diagonal"]
    assert claim.rhs.is_Mul and len(claim.rhs.args) == 2


def test_separable_factors_and_ranks():
    from convproof.proofs import separable_kernels as proof
    for name, (u, v) in proof.FACTORS.items():
        kernel = np.array(proof.KERNELS[name], dtype=object)
        assert (np.outer(np.array(u, dtype=object), np.array(v, dtype=object)) == kernel).all()
        assert np.linalg.matrix_rank(kernel.astype(float)) == 1
    assert np.linalg.matrix_rank(np.array(proof.KERNELS["emboss"], dtype=float)) == 3
    assert round(np.linalg.det(np.array(proof.KERNELS["emboss"], dtype=float))) == -4
    assert np.linalg.matrix_rank(np.array(proof.KERNELS["sharpen"], dtype=float)) == 2
    (u1, v1), (u2, v2) = proof.SHARPEN_TERMS
    assert (np.outer(u1, v1) + np.outer(u2, v2) == np.array(proof.KERNELS["sharpen"])).all()


# --------------------------------------------------------------------------------------------
# The statements in floating point, in PyTorch's conventions
# --------------------------------------------------------------------------------------------

def test_convolution_commutes_and_correlation_reverses(rng):
    f, g = rng.normal(size=5), rng.normal(size=3)
    assert np.allclose(np.convolve(f, g), np.convolve(g, f))
    assert np.allclose(np.correlate(f, g, "full"), np.correlate(g, f, "full")[::-1])
    assert not np.allclose(np.correlate(f, g, "full"), np.correlate(g, f, "full"))


def composite_kernel(a, b, s1: int, d1: int, d2: int) -> np.ndarray:
    """c[o, c', r] = Σ_h Σ_m Σ_n [r = d₁m + s₁d₂n] a[h, c', m] b[o, h, n], per axis of 2-D."""
    (_, c_in, ka, _), (c_out, _, kb, _) = a.shape, b.shape
    taps = d1 * (ka - 1) + s1 * d2 * (kb - 1) + 1
    c = np.zeros((c_out, c_in, taps, taps))
    for m0, m1, n0, n1 in np.ndindex(ka, ka, kb, kb):
        r0, r1 = d1 * m0 + s1 * d2 * n0, d1 * m1 + s1 * d2 * n1
        c[:, :, r0, r1] += np.einsum("hc,oh->oc", a[:, :, m0, m1], b[:, :, n0, n1])
    return c


@pytest.mark.parametrize("s1, d1, s2, d2", [(1, 1, 1, 1), (1, 1, 2, 1), (2, 1, 1, 2), (1, 2, 2, 1)])
def test_stacked_valid_layers_are_one_layer(torch, rng, s1, d1, s2, d2):
    x = torch.tensor(rng.normal(size=(2, 3, 17, 16)))
    a = rng.normal(size=(4, 3, 3, 3))
    b = rng.normal(size=(2, 4, 3, 3))
    conv = torch.nn.functional.conv2d
    stacked = conv(conv(x, torch.tensor(a), stride=s1, dilation=d1), torch.tensor(b),
                   stride=s2, dilation=d2)
    single = conv(x, torch.tensor(composite_kernel(a, b, s1, d1, d2)), stride=s1 * s2)
    rows, cols = stacked.shape[-2:]
    assert np.allclose(stacked.numpy(), single[..., :rows, :cols].numpy())
    if (s1, d1, d2) == (1, 1, 1):  # two 3×3 are one 5×5 whose kernel is a ∗ b
        assert single.shape[-2:] == stacked.shape[-2:]
        assert composite_kernel(a, b, 1, 1, 1).shape[-2:] == (5, 5)


def test_dilated_kernel_is_a_sparse_kernel(torch, rng):
    x = torch.tensor(rng.normal(size=(1, 2, 11, 12)))
    w = rng.normal(size=(3, 2, 3, 2))
    sparse = np.zeros((3, 2, 2 * (3 - 1) + 1, 3 * (2 - 1) + 1))
    sparse[:, :, ::2, ::3] = w
    conv = torch.nn.functional.conv2d
    dilated = conv(x, torch.tensor(w), stride=2, padding=1, dilation=(2, 3))
    assert np.allclose(dilated.numpy(), conv(x, torch.tensor(sparse), stride=2, padding=1).numpy())


def test_separable_kernels_are_two_passes(torch, rng):
    from convproof.proofs import separable_kernels as proof
    x = torch.tensor(rng.normal(size=(1, 1, 7, 9)))
    conv = torch.nn.functional.conv2d
    for name, (u, v) in proof.FACTORS.items():
        kernel = torch.tensor(np.array(proof.KERNELS[name], dtype=float))[None, None]
        column = torch.tensor(np.array(u, dtype=float)).reshape(1, 1, 3, 1)
        row = torch.tensor(np.array(v, dtype=float)).reshape(1, 1, 1, 3)
        two = conv(conv(x, column, padding=(1, 0)), row, padding=(0, 1))
        assert np.allclose(conv(x, kernel, padding=1).numpy(), two.numpy()), name


def test_fft_diagonalizes_circular_convolution(rng):
    x, w = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    circular = np.zeros_like(x)
    for t in np.ndindex(*x.shape):
        for j in np.ndindex(*x.shape):
            circular[t] += x[j] * w[(t[0] - j[0]) % 4, (t[1] - j[1]) % 6]
    assert np.allclose(np.fft.fft2(circular), np.fft.fft2(x) * np.fft.fft2(w))
