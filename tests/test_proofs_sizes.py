"""Sizes, and the rest of equivariance and invariance: the theorems reach their catalog levels,
every mutant is killed, the exported claims say what they should, and the statements hold in
PyTorch (an oracle independent of the proof engine and of ConvSpec)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy

from convproof.spec import ConvSpec
from convproof.symbolic import load



# --------------------------------------------------------------------------------------------
# The shapes of the exported claims
# --------------------------------------------------------------------------------------------

def test_output_size_is_the_library_formula():
    from convproof.proofs import output_size as proof
    st = proof.st
    library = ConvSpec(1, 1, (st.k,), stride=(st.s,), padding=((st.p, st.q),),
                       dilation=(st.d,)).output_size((st.n,))[0]
    assert proof.COUNT.rhs == proof.kernel_fits(st) * library
    assert library == sympy.floor((st.n + st.p + st.q - st.d * (st.k - 1) - 1) / st.s) + 1
    assert {proof.VALID.rhs, proof.SAME.rhs, proof.FULL.rhs} == {
        st.n - st.d * (st.k - 1), st.n, st.n + st.d * (st.k - 1)}


def test_transposed_output_size_claims():
    theorem = load("transposed-output-size")
    assert set(theorem.claims) == {"one of the s sizes", "every size reached once",
                                   "restores the input size"}
    (hypothesis,) = theorem.claims["restores the input size"].hypotheses
    from convproof.proofs import transposed_output_size as proof
    assert hypothesis.rhs == proof.st.unused
    refuted = [e for e in theorem.prove().evidence if e.kind == "refuted"]
    assert refuted and all(e.ok for e in refuted)


def test_conv_arithmetic_has_the_fifteen_relations():
    names = set(load("conv-arithmetic-relations").claims)
    assert {f"relation {number}" for number in range(1, 16)} <= names
    assert {f"relation {number}, direct" for number in range(8, 15)} <= names


def test_same_padding_claims():
    from convproof.proofs import same_padding as proof
    assert proof.OUTPUT.rhs == sympy.ceiling(proof.st.n / proof.st.s)
    assert proof.ODD_PIXEL.rhs == sympy.Mod(proof.st.d * (proof.st.k - 1), 2)


def test_pooling_figure_is_reproduced():
    evidence = [e for e in load("pooling-invariance").prove().evidence if e.kind == "refuted"]
    by_title = {e.title: e for e in evidence}
    pooled = by_title["Figure 9.8: only half of the pooled outputs change"]
    detectors = by_title["Figure 9.8: every detector output of the view changes"]
    assert len(pooled.witness["differences"]) == 2 and len(pooled.witness["values"]) == 4
    assert len(detectors.witness["differences"]) == 4


# --------------------------------------------------------------------------------------------
# The library and PyTorch
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stride, dilation, expected", [(1, 1, 5), (2, 1, 3), (3, 1, 2), (1, 2, 3)])
def test_notes_examples_in_pytorch(torch, rng, stride, dilation, expected):
    image = torch.tensor(rng.standard_normal((1, 1, 7, 7)))
    kernel = torch.tensor(rng.standard_normal((1, 1, 3, 3)))
    out = torch.nn.functional.conv2d(image, kernel, stride=stride, dilation=dilation)
    spec = ConvSpec(1, 1, (3, 3), stride=stride, dilation=dilation)
    assert tuple(out.shape[2:]) == spec.output_size((7, 7)) == (expected, expected)


def test_strict_spec_refuses_the_unused_row():
    spec = ConvSpec(1, 1, (3, 3), stride=3, strict=True)
    with pytest.raises(ValueError, match=r"stride 3 leaves 1 trailing input row\(s\)"):
        spec.output_size((7, 7))
    assert ConvSpec(1, 1, (3, 3), stride=3).unused((7, 7)) == (1, 1)
    with pytest.raises(ValueError, match=re.escape(
            "output_padding = (0, 1) with strict=True: the transposed conv's last "
            "output_padding rows are reached by no window")):
        ConvSpec(1, 1, (3, 3), stride=3, output_padding=(0, 1), strict=True)
    assert ConvSpec(1, 1, (3,), stride=3, strict=np.True_).strict is True


def test_symbolic_specs_take_undecided_constraints_as_hypotheses():
    """Only a constraint that is decidedly violated raises (spec.py's rule)."""
    c, g, n = sympy.symbols("c g n", integer=True, positive=True)
    assert ConvSpec(c, c, (3,), groups=g).groups == g
    assert ConvSpec(c, 2 * c, (3,), groups=2).out_channels == 2 * c
    strict = ConvSpec(1, 1, (3,), stride=3, strict=True)
    assert strict.output_size((n,)) == (sympy.floor(n / 3),)
    assert strict.output_size((3 * n + 3,)) == (n + 1,)  # decidedly no unused row
    with pytest.raises(ValueError, match="in_channels = 2\\*c \\+ 1 is not divisible by "
                       "groups = 2"):
        ConvSpec(2 * c + 1, 2, (3,), groups=2)
    with pytest.raises(ValueError, match="strict=True refuses"):
        strict.output_size((3 * n + 4,))


def _draw(rng):
    k, s, d = (int(v) for v in (rng.integers(1, 5), rng.integers(1, 4), rng.integers(1, 3)))
    p, q = (int(v) for v in rng.integers(0, 3, size=2))
    n = int(rng.integers(max(1, d * (k - 1) + 1 - p - q), 14))
    return n, k, s, d, p, q


def test_output_size_counts_windows_like_pytorch(torch, rng):
    for _ in range(25):
        n, k, s, d, p, q = _draw(rng)
        x = torch.nn.functional.pad(torch.tensor(rng.standard_normal((1, 1, n))), (p, q))
        y = torch.nn.functional.conv1d(x, torch.tensor(rng.standard_normal((1, 1, k))),
                                       stride=s, dilation=d)
        windows = sum(1 for u in range(n + p + q) if s * u + d * (k - 1) <= n + p + q - 1)
        spec = ConvSpec(1, 1, (k,), stride=s, padding=((p, q),), dilation=d)
        assert y.shape[-1] == windows == spec.output_size((n,))[0], (n, k, s, d, p, q)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_in_pytorch(torch, rng):
    for _ in range(20):
        n, k, s, d = (int(v) for v in (rng.integers(1, 12), rng.integers(1, 6),
                                       rng.integers(1, 4), rng.integers(1, 3)))
        spec = ConvSpec(1, 1, (k,), stride=s, padding="same", dilation=d)
        ((low, high),) = spec.pads((n,))
        x = torch.tensor(rng.standard_normal((1, 1, n)))
        w = torch.tensor(rng.standard_normal((1, 1, k)))
        padded = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (low, high)), w,
                                            stride=s, dilation=d)
        assert padded.shape[-1] == math.ceil(n / s) == spec.output_size((n,))[0]
        if s == 1:  # PyTorch's own "same" puts the odd pixel at the end too
            same = torch.nn.functional.conv1d(x, w, padding="same", dilation=d)
            assert torch.allclose(same, padded)


def test_transposed_output_size_in_pytorch(torch, rng):
    """Sizes of conv_transpose1d for every output padding PyTorch accepts, a < max(s, d);
    the forward conv maps the result back to m exactly when a < s."""
    conv = torch.nn.functional.conv1d
    for _ in range(25):
        _, k, s, d, p, _ = _draw(rng)
        n = int(rng.integers(max(1, d * (k - 1) + 1 - 2 * p), 14))
        spec = ConvSpec(1, 1, (k,), stride=s, padding=p, dilation=d)
        m = spec.output_size((n,))[0]
        w = torch.tensor(rng.standard_normal((1, 1, k)))
        for a in range(max(s, d)):
            transposed = spec.replace(output_padding=a)
            size = (m - 1) * s - 2 * p + d * (k - 1) + a + 1
            g = torch.tensor(rng.standard_normal((1, 1, m)))
            if size < 1:  # padding beyond the span: this output padding gives no output
                with pytest.raises(ValueError, match="no output"):
                    transposed.transposed_output_size((m,))
                continue
            y = torch.nn.functional.conv_transpose1d(g, w, stride=s, padding=p,
                                                     output_padding=a, dilation=d)
            assert y.shape[-1] == size == transposed.transposed_output_size((m,))[0]
            back = conv(y, w, stride=s, padding=p, dilation=d)
            assert (back.shape[-1] == m) is (a < s), (n, k, s, d, p, a)
        a = spec.unused((n,))[0]
        assert spec.replace(output_padding=a).transposed_output_size((m,)) == (n,)
        assert spec.output_padding_for((m,), (n,)) == (a,) and a < s


def test_receptive_field_in_pytorch(torch, rng):
    """The span of input pixels that one output of a stack depends on (autograd)."""
    from convproof.proofs.receptive_field import closed_form, dilations, kernels, strides
    for _ in range(6):
        depth = int(rng.integers(1, 4))
        layers = [(int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3)))
                  for _ in range(depth)]
        x = torch.tensor(rng.standard_normal((1, 1, 200)), requires_grad=True)
        y = x
        for k, s, d in layers:
            y = torch.nn.functional.conv1d(y, torch.tensor(rng.uniform(0.5, 1.5, (1, 1, k))),
                                           stride=s, dilation=d)
        y[0, 0, y.shape[-1] // 2].backward()
        touched = np.nonzero(x.grad[0, 0].numpy())[0]
        values = {}
        for index, (k, s, d) in enumerate(layers, start=1):
            values.update({kernels[index]: k, strides[index]: s, dilations[index]: d})
        field = closed_form(depth).xreplace(values)
        assert touched[-1] - touched[0] + 1 == field, layers


def test_pooling_figure_in_pytorch(torch):
    """Width 3, stride 1 over the detector row at positions -2..4; the window of output q
    covers positions q - 2 .. q, centred on q - 1, so the view 0..3 is q = 1..4."""
    from convproof.proofs.pooling_invariance import FIGURE_ROW, FIGURE_VIEW
    row = [float(sympy.Rational(FIGURE_ROW[j])) for j in range(-2, 5)]
    moved = [0.0] + row[:-1]                             # the row moved right by one pixel

    def pool(values):
        pooled = torch.nn.functional.max_pool1d(torch.tensor([[values]], dtype=torch.float64),
                                                3, stride=1)
        return pooled[0, 0, 1:5].tolist()
    expected = [[float(sympy.Rational(v)) for v in FIGURE_VIEW["pooled"][j]] for j in range(4)]
    assert pool(moved) == pytest.approx([pair[0] for pair in expected])
    assert pool(row) == pytest.approx([pair[1] for pair in expected])


def test_rotation_in_pytorch(torch, rng):
    """corr(rot x, w) = rot corr(x, rot⁻¹ w) for full correlations; rot = np.rot90(·, -1)."""
    def full(a, w):
        k = w.shape[0]
        padded = torch.tensor(np.pad(a, k - 1))[None, None]
        return torch.nn.functional.conv2d(padded, torch.tensor(w.copy())[None, None])[0, 0].numpy()

    from convproof.proofs.rotation_scale import SOBEL
    for size in (3, 5):
        a, w = rng.standard_normal((size, size)), rng.standard_normal((3, 3))
        assert np.allclose(full(np.rot90(a, -1), w), np.rot90(full(a, np.rot90(w, 1)), -1))
    a = rng.standard_normal((4, 4))
    assert not np.allclose(full(np.rot90(a, -1), SOBEL * 1.0),
                           np.rot90(full(a, SOBEL * 1.0), -1))
