"""Convolution as a matrix: the theorems reach their catalog levels, every mutant is killed,
the exported claims say what they should, and the statements hold against oracles that do not
use the proof engine: the matrices of conv_matrix, the float64 reference and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from convproof import reference
from convproof.spec import ConvSpec
from convproof.symbolic import conv_matrix, load
from convproof.symbolic.certificates import entries_of, numeric_value
from convproof.symbolic.evaluate import Instance
from convproof.symbolic.rules import unfold_all



# --------------------------------------------------------------------------------------------
# The shapes of the exported claims
# --------------------------------------------------------------------------------------------

def test_claims_and_their_hypotheses():
    toeplitz = load("toeplitz-structure")
    assert toeplitz.depends == ("banded-matrix",)
    s = toeplitz.claims["unit shift"].hypotheses[0]
    assert (str(s.lhs), s.rhs) == ("s", 1)
    assert {str(h.lhs) for h in toeplitz.claims["circulant"].hypotheses} == {"s", "q"}
    assert toeplitz.claims["circular matrix"].hypotheses == ()
    dense = load("one-by-one-is-dense")
    assert [str(h.lhs) for h in dense.claims["one tap"].hypotheses] == ["k"]
    assert [str(h.lhs) for h in dense.claims["every pixel"].hypotheses] == ["k", "s", "p"]
    groups = load("multichannel-groups")
    assert {str(h.lhs) for h in groups.claims["depthwise"].hypotheses} == {"C_i", "C_o"}
    seed = load("seed-banded-example")
    assert any("same" in note for note in seed.notes)
    interior = seed.claims["interior rows"].hypotheses
    assert {str(h.lhs) for h in interior} == {"s", "d", "p", "q", "k"}


def test_im2col_exports_the_read_position_the_kernels_print():
    theorem = load("im2col-factorization")
    index = theorem.expressions["im2col_index"]
    names = {str(s): s for s in index.free_symbols}
    assert set(names) == {"s", "d", "p", "i", "m"}
    s, d, p, i, m = (names[key] for key in "sdpim")
    assert sympy.expand(index - (s * i + d * m - p)) == 0
    assert theorem.certifiable is theorem.claims["gemm"]


def test_the_notes_table_and_layer_numbers():
    theorem = load("efficiency-counts")
    table = {name: int(claim.rhs) for name, claim in theorem.claims.items()
             if name.startswith("table")}
    assert table == {"table stored: convolution": 2, "table stored: dense": 319 * 280 * 320 * 280,
                     "table stored: sparse": 178_640, "table operations: convolution": 267_960,
                     "table operations: dense": 319 * 280 * (2 * 320 * 280 - 1),
                     "table operations: sparse": 267_960}
    assert table["table stored: dense"] > 8e9 and table["table operations: dense"] > 16e9
    assert int(theorem.claims["760 parameters"].rhs) == 10 * (5 * 5 * 3 + 1)
    assert ConvSpec(1, 1, (2, 1)).output_size((320, 280)) == (319, 280)


def test_unshared_matrix_is_refuted_as_toeplitz_by_its_witness():
    evidence = [e for e in load("unshared-and-tiled").prove().evidence if e.kind == "refuted"]
    assert len(evidence) == 2 and all(e.ok for e in evidence)
    assert all(e.witness["differences"] for e in evidence)


# --------------------------------------------------------------------------------------------
# The matrices of conv_matrix (padding maps of matrices.py, not the theorems' claims)
# --------------------------------------------------------------------------------------------

def kernel_symbols(weights: np.ndarray) -> list:
    return [weights[0, 0, tap] for tap in range(weights.shape[-1])]


def test_seed_matrix_rows_are_the_valid_banded_matrix():
    from convproof.proofs import seed_banded_example as seed

    valid, weights = conv_matrix(ConvSpec(1, 1, (3,)), (1, 5))
    same, _ = conv_matrix(ConvSpec(1, 1, (3,), padding="same"), (1, 5))
    rename = dict(zip((seed.k1, seed.k2, seed.k3), kernel_symbols(weights)))
    notes = sympy.Matrix(seed.W_NOTES).xreplace(rename)
    border = sympy.Matrix(seed.SAME_BORDER).xreplace(rename)
    assert notes[1:4, :] == valid and notes.row(0).is_zero_matrix and notes.row(4).is_zero_matrix
    assert same == notes + border


def test_seed_layer_is_the_valid_conv_written_at_length_five(rng):
    from convproof.proofs import seed_banded_example as seed

    kernel, bias, x = rng.standard_normal(3), rng.standard_normal(), rng.standard_normal(5)
    values = {**dict(zip((seed.k1, seed.k2, seed.k3), kernel)), seed.b_: bias}
    W = np.array(sympy.Matrix(seed.W_NOTES).xreplace(values), dtype=float)
    w0 = np.array([float(sympy.sympify(entry).xreplace(values)) for entry in seed.BIAS_NOTES])
    valid = reference.conv(x[None, None], kernel[None, None], np.array([bias]))[0, 0]
    np.testing.assert_allclose(W @ x + w0, [0.0, *valid, 0.0], rtol=1e-12)


def entry_grid(matrix, shape_out, shape_in):
    """The matrix as an array indexed [output position..., input position...] (one channel)."""
    return np.array(matrix.tolist(), dtype=object).reshape(*shape_out, *shape_in)


@pytest.mark.parametrize("dims", [1, 2])
def test_unit_stride_matrices_are_toeplitz_and_circular_ones_circulant(rng, dims):
    n = tuple(int(v) for v in rng.integers(5, 8, size=dims))  # the widest window spans 5
    k = tuple(int(v) for v in rng.integers(1, 4, size=dims))
    d = tuple(int(v) for v in rng.integers(1, 3, size=dims))
    plain = ConvSpec(1, 1, k, dilation=d, padding=tuple(int(v) for v in rng.integers(0, 2, dims)))
    out = plain.output_size(n)
    A = entry_grid(conv_matrix(plain, (1, *n))[0], out, n)
    for axis in range(dims):
        row = tuple(slice(1, None) if a == axis else slice(None) for a in range(dims))
        low = tuple(slice(None, -1) if a == axis else slice(None) for a in range(dims))
        # A[i + e_a, j + e_a] = A[i, j] along every axis a: doubly block Toeplitz in 2-D
        assert (A[row + row] == A[low + low]).all()
    circular = ConvSpec(1, 1, k, dilation=d, padding="same", padding_mode="circular")
    C = entry_grid(conv_matrix(circular, (1, *n))[0], n, n)
    t = tuple(int(v) for v in rng.integers(-3, 4, size=dims))
    rotated = np.roll(C, shift=t + t, axis=tuple(range(2 * dims)))
    assert (rotated == C).all()


def test_groups_make_the_matrix_block_diagonal(rng):
    groups, per_in, per_out = 3, int(rng.integers(1, 3)), int(rng.integers(1, 3))
    n = (int(rng.integers(3, 6)),)
    spec = ConvSpec(groups * per_in, groups * per_out, (2,), groups=groups)
    A, _ = conv_matrix(spec, (groups * per_in, *n))
    o = spec.output_size(n)[0]
    blocks = np.array(A.tolist(), dtype=object).reshape(groups, per_out * o, groups, per_in * n[0])
    for g in range(groups):
        for h in range(groups):
            assert (blocks[g, :, h, :] == 0).all() != (g == h)
    depthwise = ConvSpec(groups, groups, (2,), groups=groups)
    D = np.array(conv_matrix(depthwise, (groups, *n))[0].tolist(), dtype=object)
    D = D.reshape(groups, o, groups, n[0])
    assert all((D[g, :, h, :] == 0).all() == (g != h) for g in range(groups) for h in range(groups))


@pytest.mark.parametrize("dims", [1, 2])
def test_nonzeros_of_a_valid_conv_matrix_are_counted(rng, dims):
    """nnz(A) = Π o_a k_a: the theorem's formula against the entries of conv_matrix."""
    counts = load("efficiency-counts")
    k = tuple(int(v) for v in rng.integers(1, 4, size=dims))
    s = tuple(int(v) for v in rng.integers(1, 3, size=dims))
    d = tuple(int(v) for v in rng.integers(1, 3, size=dims))
    n = tuple(dd * (kk - 1) + 1 + int(rng.integers(0, 5)) for kk, dd in zip(k, d))
    spec = ConvSpec(1, 1, k, stride=s, dilation=d)
    A, _ = conv_matrix(spec, (1, *n))
    claim = counts.claims["stored: sparse"]
    o = spec.output_size(n)
    names = {str(symbol): symbol for symbol in claim.rhs.free_symbols}
    values = {names[f"{letter}_{axis}"]: size[a] for a, axis in enumerate("hw"[:dims])
              for letter, size in (("o", o), ("k", k))}
    formula = claim.rhs.subs(values).subs({symbol: 1 for symbol in claim.rhs.free_symbols})
    assert len(A.todok()) == int(formula) == int(np.prod(o) * np.prod(k))


# --------------------------------------------------------------------------------------------
# Numbers: the theorems' own signals, evaluated exactly, against PyTorch
# --------------------------------------------------------------------------------------------

def evaluate(signal_entry, free: dict, indices: list, entries: dict, dims: int) -> np.ndarray:
    """signal_entry(*index symbols) at every index tuple, with the sizes ``free`` and the
    numeric ``entries`` (one compiled instance, many evaluations)."""
    symbols = list(free) + indices
    compiled = Instance(unfold_all(signal_entry), symbols, dims, free)
    return lambda *index: float(numeric_value(compiled({**free, **dict(zip(indices, index))}),
                                              entries))


def conv_sizes(st, n, k, s, d, p, q, batch, groups, c_in, c_out) -> dict:
    return {st.n: n, st.k: k, st.s: s, st.d: d, st.p: p, st.q: q, st.batch: batch,
            st.groups: groups, st.c_in: c_in, st.c_out: c_out}


def unfolded(torch, x, k, s, d, p, q):
    """PyTorch's im2col of x padded by (p, q): (B, C·Π k, L)."""
    padded = torch.nn.functional.pad(torch.from_numpy(x), [v for a in reversed(range(2))
                                                            for v in (p[a], q[a])])
    return torch.nn.functional.unfold(padded, k, dilation=d, stride=s)


def random_case(rng):
    k = tuple(int(v) for v in rng.integers(1, 4, size=2))
    s = tuple(int(v) for v in rng.integers(1, 3, size=2))
    d = tuple(int(v) for v in rng.integers(1, 3, size=2))
    p = tuple(int(v) for v in rng.integers(0, 2, size=2))
    q = tuple(int(v) for v in rng.integers(0, 2, size=2))
    n = tuple(dd * (kk - 1) + 1 + int(rng.integers(0, 3)) for kk, dd in zip(k, d))
    return n, k, s, d, p, q


def test_im2col_index_is_pytorch_unfold(rng, torch):
    theorem = load("im2col-factorization")
    from convproof.proofs import im2col_factorization as proof

    n, k, s, d, p, q = random_case(rng)
    batch, groups, c_in, c_out = 2, 2, 2, 3
    x = rng.integers(-5, 6, size=(batch, groups * c_in, *n)).astype(float)
    w = rng.integers(-5, 6, size=(groups * c_out, c_in, *k)).astype(float)
    spec = ConvSpec(groups * c_in, groups * c_out, k, stride=s, dilation=d,
                    padding=tuple(zip(p, q)), groups=groups)
    out = spec.output_size(n)
    sizes = conv_sizes(proof.st, n, k, s, d, p, q, batch, groups, c_in, c_out)
    entries = entries_of("x", x.reshape(batch, groups, c_in, *n))
    col = evaluate(theorem.signals["im2col"][proof.b, proof.g, proof.c, proof.m, proof.i], sizes,
                   [proof.b, proof.g, proof.c, proof.m, proof.i], entries, 2)
    expected = unfolded(torch, x, k, s, d, p, q).numpy().reshape(
        batch, groups, c_in, *k, *out)
    for b, g, c, m1, m2, i1, i2 in np.ndindex(expected.shape):
        assert col(b, g, c, (m1, m2), (i1, i2)) == expected[b, g, c, m1, m2, i1, i2]
    lowered = expected.reshape(batch, groups, c_in * int(np.prod(k)), -1)
    product = np.einsum("gok,bgkl->bgol", w.reshape(groups, c_out, -1), lowered)
    y = torch.nn.functional.conv2d(torch.from_numpy(np.pad(x, [(0, 0), (0, 0), *zip(p, q)])),
                                   torch.from_numpy(w), stride=s, dilation=d, groups=groups)
    np.testing.assert_allclose(product.reshape(y.shape), y.numpy(), rtol=1e-12)


def test_one_by_one_conv_is_the_theorem_dense_layer(rng, torch):
    from convproof.proofs import one_by_one_is_dense as proof

    n, groups, c_in, c_out = (3, 4), 2, 3, 2
    x = rng.standard_normal((1, groups * c_in, *n))
    w = rng.standard_normal((groups * c_out, c_in, 1, 1))
    sizes = conv_sizes(proof.st, n, (1, 1), (1, 1), (1, 1), (0, 0), (0, 0), 1, groups, c_in, c_out)
    # the tap index of W_fc is the literal 0, which the exact evaluator keys as one number
    entries = {**entries_of("x", x.reshape(1, groups, c_in, *n)),
               **entries_of("w", w.reshape(groups, c_out, c_in, 1))}
    dense = evaluate(proof.dense[proof.b, proof.g, proof.o, proof.i], sizes,
                     [proof.b, proof.g, proof.o, proof.i], entries, 2)
    y, terms = (torch.nn.functional.conv2d(torch.from_numpy(a), torch.from_numpy(b),
                                           groups=groups).numpy().reshape(groups, c_out, *n)
                for a, b in ((x, w), (np.abs(x), np.abs(w))))
    for g, o, i1, i2 in np.ndindex(y.shape):  # within 1e-12 of the sum of |terms|
        assert abs(dense(0, g, o, (i1, i2)) - y[g, o, i1, i2]) <= 1e-12 * terms[g, o, i1, i2]


def test_unshared_and_tiled_layers_against_unfold(rng, torch):
    from convproof.proofs import unshared_and_tiled as proof

    n, k, s, d, p, q = random_case(rng)
    groups, c_in, c_out = 2, 2, 1
    spec = ConvSpec(groups * c_in, groups * c_out, k, stride=s, dilation=d,
                    padding=tuple(zip(p, q)), groups=groups)
    out = spec.output_size(n)
    period = tuple(int(v) for v in rng.integers(1, 4, size=2))
    x = rng.integers(-5, 6, size=(1, groups * c_in, *n)).astype(float)
    u = rng.integers(-5, 6, size=(groups, c_out, c_in, *out, *k)).astype(float)
    v = rng.integers(-5, 6, size=(groups, c_out, c_in, *period, *k)).astype(float)
    columns = unfolded(torch, x, k, s, d, p, q).numpy().reshape(groups, c_in, *k, *out)
    expected = np.einsum("gocijmn,gcmnij->goij", u.transpose(0, 1, 2, 3, 4, 5, 6), columns)
    i1, i2 = np.meshgrid(range(out[0]), range(out[1]), indexing="ij")
    tied = v[:, :, :, i1 % period[0], i2 % period[1]]  # kernel i mod t at every position
    expected_tiled = np.einsum("gocijmn,gcmnij->goij", tied, columns)
    sizes = {**conv_sizes(proof.st, n, k, s, d, p, q, 1, groups, c_in, c_out), proof.t: period}
    entries = {**entries_of("x", x.reshape(1, groups, c_in, *n)), **entries_of("u", u),
               **entries_of("v", v)}
    index = [proof.b, proof.g, proof.o, proof.i]
    unshared = evaluate(proof.unshared[tuple(index)], sizes, index, entries, 2)
    tiled = evaluate(proof.tiled[tuple(index)], sizes, index, entries, 2)
    for g, o, a, b in np.ndindex(expected.shape):
        assert unshared(0, g, o, (a, b)) == expected[g, o, a, b]
        assert tiled(0, g, o, (a, b)) == expected_tiled[g, o, a, b]


@pytest.mark.parametrize("theorem_id, title", [
    ("efficiency-counts", "by enumeration"), ("unshared-and-tiled", "parameters, by enumeration")])
def test_counts_on_the_plane_are_labelled_two_dimensional(theorem_id, title):
    """The plane's sizes are one scalar per axis (o_h, o_w): its grid was labelled 1-D."""
    evidence = [e for e in load(theorem_id).prove().evidence if title in e.title]
    assert evidence and all(e.ok and "(2-D)" in e.message for e in evidence)
