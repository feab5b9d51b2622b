"""The derived matrices against matrices probed from the numeric functions, certify(), the CLI.

conv_matrix / conv_transpose_matrix come from the theorems' definitions; the probes apply
convproof.functional (and PyTorch where installed) to every basis vector.  Specs are drawn at
random, every padding mode included.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convproof.functional as F
from convproof import ConvSpec
from convproof.cli import main
from convproof.symbolic import conv_matrix, conv_transpose_matrix, certify
from strategies import conv_cases

SMALL = dict(dims=(1, 2), max_stride=2)


def numeric(matrix, weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A matrix of linear forms in the weight symbols, at the given weight values."""
    by_symbol = {weights[index]: values[index] for index in np.ndindex(weights.shape)}
    dense = np.zeros(matrix.shape)
    for (row, col), entry in matrix.todok().items():
        dense[row, col] = sum(
            float(coeff) * by_symbol[symbol]
            for symbol, coeff in entry.as_coefficients_dict().items()
        )
    return dense


def probe(function, in_shape: tuple[int, ...]) -> np.ndarray:
    """The matrix of a linear map on arrays of shape in_shape (C, *spatial), column by column."""
    size = int(np.prod(in_shape))
    basis = np.eye(size).reshape((size, *in_shape))
    return np.asarray(function(basis)).reshape(size, -1).T


def functional(name: str, dims: int):
    return getattr(F, f"{name}{dims}d")


@settings(max_examples=40)
@given(case=conv_cases(**SMALL))
def test_conv_matrix_is_the_probed_convolution(case):
    spec = case.spec
    weights_values = case.arrays()[1]
    A, weights = conv_matrix(spec, (spec.in_channels, *case.size))
    probed = probe(
        lambda x: functional("conv", spec.dims)(x, weights_values, **case.kwargs),
        (spec.in_channels, *case.size),
    )
    np.testing.assert_allclose(numeric(A, weights, weights_values), probed, atol=1e-12)


@settings(max_examples=30)
@given(case=conv_cases(**SMALL, output_padding=True))
def test_conv_transpose_matrix_is_the_probed_transposed_convolution(case):
    spec = case.spec
    weights_values = case.arrays()[1]
    out = spec.output_size(case.size)
    try:
        target = spec.transposed_output_size(out)
    except ValueError:  # a transposed conv with no output: refused, nothing to compare
        assume(False)
    fits = {"reflect": lambda p, t: p < t, "circular": lambda p, t: p <= t}.get(spec.padding_mode)
    assume(
        fits is None
        or all(fits(p, t) for pair, t in zip(spec.pads(case.size), target) for p in pair)
    )
    T, weights = conv_transpose_matrix(spec, (spec.out_channels, *out))
    kwargs = case.kwargs | {"output_padding": spec.output_padding}
    probed = probe(
        lambda g: functional("conv_transpose", spec.dims)(g, weights_values, **kwargs),
        (spec.out_channels, *out),
    )
    np.testing.assert_allclose(numeric(T, weights, weights_values), probed, atol=1e-12)


@settings(max_examples=20)
@given(case=conv_cases(**SMALL, modes=("zeros", "circular", "reflect", "replicate")))
def test_transposed_matrix_is_the_transpose_when_sizes_correspond(case):
    spec = case.spec.replace(output_padding=case.spec.unused(case.size))
    A, _ = conv_matrix(spec, (spec.in_channels, *case.size))
    T, _ = conv_transpose_matrix(spec, (spec.out_channels, *spec.output_size(case.size)))
    assert (T - A.T).is_zero_matrix


@settings(max_examples=25)
@given(case=conv_cases(dims=(1, 2), modes=("zeros", "circular", "reflect", "replicate")))
def test_conv_matrix_is_the_probed_torch_convolution(case, torch):
    spec = case.spec
    weights_values = case.arrays()[1]
    A, weights = conv_matrix(spec, (spec.in_channels, *case.size))
    pads = [v for lo, hi in reversed(spec.pads(case.size)) for v in (lo, hi)]
    mode = {"zeros": "constant"}.get(spec.padding_mode, spec.padding_mode)
    conv = getattr(torch.nn.functional, f"conv{spec.dims}d")

    def run(x):
        padded = torch.nn.functional.pad(torch.from_numpy(x), pads, mode=mode)
        return conv(
            padded,
            torch.from_numpy(weights_values),
            stride=spec.stride,
            dilation=spec.dilation,
            groups=spec.groups,
        ).numpy()

    np.testing.assert_allclose(
        numeric(A, weights, weights_values), probe(run, (spec.in_channels, *case.size)), atol=1e-12
    )


def test_conv_matrix_refuses_mismatched_shapes():
    spec = ConvSpec(2, 3, (3, 3))
    with pytest.raises(ValueError, match="input_shape has 3 channels"):
        conv_matrix(spec, (3, 5, 5))
    with pytest.raises(ValueError, match="2 spatial dims"):
        conv_matrix(spec, (2, 5))
    with pytest.raises(TypeError, match="ConvSpec"):
        conv_matrix((2, 3), (2, 5, 5))


@pytest.mark.parametrize("theorem", ["banded-matrix", "flip-equivalence", "transposed-is-adjoint"])
@pytest.mark.parametrize("stride,padding,groups", [(1, 1, 1), (2, (1, 0), 2), (3, 2, 1)])
def test_certify_holds_for_specs_where_the_claim_applies(theorem, stride, padding, groups):
    spec = ConvSpec(2, 4, (3, 2), stride=stride, padding=padding, dilation=(1, 2), groups=groups)
    shape = (2, 7, 8)
    spec = spec.replace(output_padding=spec.unused(shape[1:]))
    result = certify(theorem, spec, shape)
    assert result.ok, result.message
    assert result.seconds > 0


def test_certify_refuses_a_spec_outside_the_hypotheses():
    """An output_padding other than the unused rows is no transposed conv back to size n: the
    claim does not apply (a ValueError that says how to meet it), rather than fail."""
    spec = ConvSpec(1, 1, (3,), stride=2, output_padding=1)
    result = certify("transposed-is-adjoint", spec, (1, 8))  # (8 - 3) mod 2 = 1 is fine
    assert result.ok
    with pytest.raises(ValueError, match="the spec does not meet the hypotheses of "
                       "transposed-is-adjoint at input \\(1, 7\\): hypothesis a = .* fails: "
                       "a = \\(1,\\), the right side is \\(0,\\); "
                       "spec.replace\\(output_padding=\\(0,\\)\\) "
                       "meets it"):
        certify("transposed-is-adjoint", spec, (1, 7))  # (7 - 3) mod 2 = 0: a = 1 breaks it


def test_a_point_where_both_sides_are_zero_is_called_what_it_is():
    """Every window in the padding (input 1, padding 1, stride 2): the conv is the zero map,
    the claim holds as 0 = 0 there, and says so; a grid of such points alone certifies
    nothing, since a wrong claim (the conv without its flip) holds there too."""
    from convproof.symbolic import Claim, load
    from convproof.symbolic.certificates import certified
    from convproof.symbolic.matrices import _point
    from convproof.symbolic.operators import b, correlation, g, i, o

    def point(spec, n):
        return _point(spec, n, spec.pads(n), spec.output_padding)[1]

    empty = ConvSpec(1, 1, (2,), stride=2, dilation=2, padding=1)
    result = certify("flip-equivalence", empty, (1, 1))
    assert result.ok and result.message.endswith("checks nothing but 0 = 0")
    ordinary = ConvSpec(1, 1, (2,))
    assert "0 = 0" not in certify("flip-equivalence", ordinary, (1, 3)).message
    proof = importlib.import_module("convproof.proofs.flip_equivalence")
    claim = load("flip-equivalence").certifiable
    unflipped = Claim("no flip", claim.lhs,
                      correlation(proof.x, proof.w, proof.st, name="corr_noflip")[b, g, o, i],
                      indices=claim.indices)
    assert certified(claim, [point(empty, (1,)), point(ordinary, (3,))]).ok
    for wrong_or_right in (claim, unflipped):
        evidence = certified(wrong_or_right, [point(empty, (1,))])
        assert not evidence.ok and "the grid compares nothing" in evidence.message
    assert not certified(unflipped, [point(empty, (1,)), point(ordinary, (3,))]).ok


def test_certify_rejects_what_it_cannot_check():
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        certify("banded-matrix", ConvSpec(1, 1, (3,), padding=1, padding_mode="reflect"), (1, 5))
    with pytest.raises(ValueError, match="theorem_id 'no-such-theorem' is not in the catalog"):
        certify("no-such-theorem", ConvSpec(1, 1, (3,)), (1, 5))
    with pytest.raises(TypeError, match="theorem_id must be a catalog id \\(a str\\), got None"):
        certify(None, ConvSpec(1, 1, (3,)), (1, 5))


def test_matrices_and_certificates_need_concrete_sizes():
    k = sympy.Symbol("k", integer=True, positive=True)
    with pytest.raises(ValueError, match="spec.kernel_size = \\(k,\\) is symbolic"):
        conv_matrix(ConvSpec(1, 1, (k,)), (1, 7))
    with pytest.raises(ValueError, match="spec.stride = \\(k,\\) is symbolic"):
        certify("banded-matrix", ConvSpec(1, 1, (3,), stride=k), (1, 7))
    spec = ConvSpec(2, 2, (3,))
    for shape in [5, "abc", {2: "a", 5: "b"}, (n for n in (2, 5))]:
        with pytest.raises(TypeError, match="input_shape must be a shape \\(C, \\*spatial\\)"):
            conv_matrix(spec, shape)
    with pytest.raises(ValueError, match="input_shape\\[1\\] must be a positive integer, got 0"):
        conv_matrix(spec, (2, 0))
    with pytest.raises(TypeError, match="input_shape must hold concrete integers, got "
                       "\\(2, True\\)"):
        conv_matrix(spec, (2, True))
    assert conv_matrix(spec, (np.int64(2), sympy.Integer(5)))[0].shape == (2 * 3, 2 * 5)


def test_transposed_matrix_refuses_padding_wider_than_its_output():
    spec = ConvSpec(1, 1, (3,), padding=3, padding_mode="reflect")  # output t = 3
    with pytest.raises(ValueError, match="padding\\[0\\] = 3 before is not smaller than the "
                       "transposed output size 3"):
        conv_transpose_matrix(spec, (1, 7))
    with pytest.raises(ValueError, match="not smaller than the transposed output size 3"):
        F.conv_transpose1d(np.ones((1, 1, 7)), np.ones((1, 1, 3)), padding=3,
                           padding_mode="reflect")


def test_certify_refuses_a_layer_too_large_to_compare_term_by_term():
    """A ResNet layer at 56 x 56 has 116 M multiply-adds: refused at once, not left to run for
    hours in ever more memory."""
    with pytest.raises(ValueError, match="has 115,605,504, more than CERTIFY_TERMS = "
                       "1,000,000"):
        certify("banded-matrix", ConvSpec(64, 64, (3, 3), padding=1), (64, 56, 56))


def test_a_matrix_too_large_to_hold_term_by_term_is_refused():
    """conv_matrix on 2 -> 4 channels at 1000 x 1000 ran for minutes in gigabytes."""
    spec = ConvSpec(2, 4, (3, 3), padding=1, groups=2)
    with pytest.raises(ValueError, match="a conv matrix holds every multiply-add as a symbolic "
                       "term: .* has 36,000,000, more than CERTIFY_TERMS"):
        conv_matrix(spec, (2, 1000, 1000))
    with pytest.raises(ValueError, match="a transposed conv matrix holds .* has 36,000,000"):
        conv_transpose_matrix(spec, (4, 1000, 1000))


@pytest.mark.slow
def test_certify_a_64_by_64_image():
    """The size the speed target is stated for (timing is measured by the benchmark)."""
    assert certify("banded-matrix", ConvSpec(1, 1, (3, 3), padding=1), (1, 64, 64)).ok


def test_prove_json_lists_each_id_with_its_levels(capsys):
    ids = ["flip-equivalence", "grad-bias"]
    assert main(["prove", "--json", *ids]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in results] == ids
    assert all(set(r) == {"id", "ok", "levels", "seconds", "message"} and r["ok"] for r in results)
    assert results[0]["levels"] == ["universal", "certified"]


def test_prove_mutants_json_reports_each_kill(capsys):
    assert main(["prove", "--mutants", "--json", "flip-equivalence"]) == 0
    outcomes = json.loads(capsys.readouterr().out)
    assert outcomes and all(o["killed"] and o["by"] for o in outcomes)
    assert set(outcomes[0]) == {"mutant", "theorem", "killed", "by"}


def test_prove_rejects_unknown_ids(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["prove", "not-a-theorem"])
    assert exit_.value.code == 2
    assert "unknown theorem id 'not-a-theorem'" in capsys.readouterr().err


@given(st.just(None))
def test_symbolic_public_api_is_importable(_):
    import convproof

    assert convproof.symbolic.conv_matrix is conv_matrix
