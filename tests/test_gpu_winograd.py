"""Winograd F(4x4, 3x3) on the GPU backend, its kernels run by the CPU emulator.

The three transform kernels and the GEMM between them are checked against the float64
reference on fresh random inputs (partial tiles, asymmetric padding, groups, bias + relu,
float32 and float64), the input gradient through the same path, and the choice of path: only
stride-1 3x3 correlations of wide groups with finite operands take it.  Each test also checks
that the transforms were launched, so it cannot pass on the implicit GEMM alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from convproof import reference
from convproof.codegen import winograd as W
from convproof.codegen.kernels import ConvGeometry
from convproof.gpu.backend import Backend
from convproof.gpu.emulate import Emulator, compiler_available
from convproof.gpu.standard import Recorder, relative_error

pytestmark = pytest.mark.skipif(not compiler_available(), reason="no C++ compiler with OpenMP")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
TRANSFORMS = ("winograd_weights", "winograd_input", "winograd_output")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Emulator:
    return Emulator(tmp_path_factory.mktemp("winograd"))


def emulated(emulator: Emulator, call, **settings) -> tuple[np.ndarray, list[str]]:
    """call(backend) on the emulated backend (``settings`` set on it) and the names of the
    kernels it launched."""
    recorder = Recorder()
    backend = Backend(recorder)
    for name, value in settings.items():
        setattr(backend, name, value)
    call(backend)
    emulator.prepare(launch.kernel for launch in recorder.launches)
    backend = Backend(emulator)
    for name, value in settings.items():
        setattr(backend, name, value)
    return call(backend), [launch.kernel.name for launch in recorder.launches]


def took_winograd(names: list[str]) -> bool:
    return all(any(name.startswith(kind) for name in names) for kind in TRANSFORMS)


CASES = [  # batch, c_in, c_out, size, pads, groups, dilation
    (2, 16, 16, (9, 7), ((1, 1), (1, 1)), 1, (1, 1)),
    (1, 16, 32, (4, 4), ((1, 1), (1, 1)), 1, (1, 1)),
    (3, 32, 32, (5, 13), ((0, 2), (2, 0)), 2, (1, 1)),
    (1, 16, 16, (3, 3), ((0, 0), (0, 0)), 1, (1, 1)),
    (2, 24, 16, (11, 6), ((2, 2), (1, 1)), 1, (1, 1)),
    (2, 16, 16, (13, 12), ((2, 2), (2, 2)), 1, (2, 2)),
    (1, 16, 24, (17, 9), ((3, 1), (0, 2)), 1, (3, 2)),
]


def _output(size, pads, dilation):
    return tuple(n + lo + hi - 2 * d for n, (lo, hi), d in zip(size, pads, dilation))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, c_in, c_out, size, pads, groups, dilation", CASES)
def test_forward_against_the_reference(emulator, dtype, batch, c_in, c_out, size, pads,
                                       groups, dilation):
    rng = np.random.default_rng()
    x = rng.standard_normal((batch, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_out, c_in // groups, 3, 3)).astype(dtype)
    bias = rng.standard_normal(c_out).astype(dtype)
    geometry = ConvGeometry((3, 3), (1, 1), pads, dilation, groups, dtype=dtype)
    y, names = emulated(emulator, lambda b: b.conv(x, w, geometry, bias, "relu"))
    assert took_winograd(names)
    expected = reference.conv(x.astype(np.float64), w.astype(np.float64),
                              bias.astype(np.float64), padding=pads, dilation=dilation,
                              groups=groups)
    expected = np.where(expected < 0, 0.0, expected)
    assert y.shape == expected.shape and y.dtype == dtype
    assert relative_error(y, expected) <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 3)])
def test_input_gradient_runs_the_same_transforms(emulator, dtype, dilation):
    """dx of a stride-1 3x3 correlation is the correlation of g padded by d(k - 1) - p with
    the flipped, swapped kernel (grad-input-flip): a Winograd forward again."""
    rng = np.random.default_rng()
    x_size, pads = (9, 12), ((1, 1), (0, 2))
    w = rng.standard_normal((16, 32, 3, 3)).astype(dtype)
    geometry = ConvGeometry((3, 3), (1, 1), pads, dilation, 1, dtype=dtype)
    g = rng.standard_normal((2, 16, *_output(x_size, pads, dilation))).astype(dtype)
    dx, names = emulated(emulator, lambda b: b.conv_data_grad(g, w, geometry, x_size))
    assert took_winograd(names)
    expected = reference.conv_input_grad((2, 32, *x_size), w.astype(np.float64),
                                         g.astype(np.float64), padding=pads, dilation=dilation)
    assert relative_error(dx, expected) <= TOLERANCE[dtype]


@pytest.mark.parametrize("case", ["stride 2", "5x5", "narrow groups", "flip", "tf32",
                                  "switched off"])
def test_other_correlations_keep_the_implicit_gemm(emulator, case):
    rng = np.random.default_rng()
    kernel = (5, 5) if case == "5x5" else (3, 3)
    stride = (2, 2) if case == "stride 2" else (1, 1)
    groups = 4 if case == "narrow groups" else 1
    x = rng.standard_normal((1, 32, 9, 9)).astype(np.float32)
    w = rng.standard_normal((32, 32 // groups, *kernel)).astype(np.float32)
    geometry = ConvGeometry(kernel, stride, ((2, 2), (2, 2)), (1, 1), groups)
    settings = {"winograd": False} if case == "switched off" else {}
    y, names = emulated(emulator, lambda b: b.conv(
        x, w, geometry, flip=case == "flip", tensor_cores="tf32" if case == "tf32" else None),
        **settings)
    assert not any(name.startswith(TRANSFORMS) for name in names)
    flipped = w[..., ::-1, ::-1] if case == "flip" else w
    expected = reference.conv(x.astype(np.float64), flipped.astype(np.float64),
                              stride=stride, padding=2, groups=groups)
    assert relative_error(y, expected) <= (5e-3 if case == "tf32" else 1e-5)


def assert_winograd_taken(x, w, g, geometry: ConvGeometry, winograd: bool) -> None:
    """The forward and the weight gradient (g the output gradient) launch Winograd's first
    transform exactly when ``winograd`` (recorded, not run)."""
    for call, first in ((lambda b: b.conv(x, w, geometry), "winograd_weights"),
                        (lambda b: b.conv_weight_grad(x, g, geometry), "winograd_gradient")):
        recorder = Recorder()
        call(Backend(recorder))
        names = [launch.kernel.name for launch in recorder.launches]
        assert any(name.startswith(first) for name in names) == winograd, names


@pytest.mark.parametrize("groups, winograd", [(1820, True), (1821, False)])
def test_groups_beyond_the_products_grid_keep_the_implicit_gemm(groups, winograd):
    """The products' GEMM runs 36 blocks along z a group: 36 x 1821 > 65535, so 1821 groups
    of 16 channels take the implicit GEMM, forward and weight gradient (recorded, not run)."""
    rng = np.random.default_rng()
    x = rng.standard_normal((1, 16 * groups, 4, 4)).astype(np.float32)
    w = rng.standard_normal((16 * groups, 16, 3, 3)).astype(np.float32)
    geometry = ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), groups)
    assert_winograd_taken(x, w, x, geometry, winograd)


@pytest.mark.parametrize("dilation, winograd", [(16, True), (17, False)])
def test_tiles_overhanging_a_dilated_output_keep_the_implicit_gemm(dilation, winograd):
    """33 outputs d apart take ceil(33 / 4d) d tiles of 4: 64 positions at d = 16, 68 at
    d = 17, more than twice the output; such a layer keeps the implicit GEMM, forward and
    weight gradient (recorded, not run)."""
    rng = np.random.default_rng()
    x = rng.standard_normal((1, 16, 33 + 2 * dilation, 6)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    g = rng.standard_normal((1, 16, 33, 4)).astype(np.float32)
    geometry = ConvGeometry((3, 3), (1, 1), ((0, 0), (0, 0)), (dilation, 1), 1)
    assert_winograd_taken(x, w, g, geometry, winograd)


@pytest.mark.parametrize("operand", ["x", "w"])
@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_operands_that_are_not_finite_keep_the_definition(emulator, operand, value):
    """A transformed tile mixes 6 x 6 inputs, so one inf would spread nan over 16 outputs:
    such operands take the implicit GEMM, whose infinities are the definition's."""
    rng = np.random.default_rng()
    x = rng.standard_normal((1, 16, 8, 8))
    w = rng.standard_normal((16, 16, 3, 3))
    (x if operand == "x" else w)[0, 3, 2, 1] = value
    geometry = ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype=np.float64)
    y, names = emulated(emulator, lambda b: b.conv(x, w, geometry))
    assert not any(name.startswith(TRANSFORMS) for name in names)
    with np.errstate(invalid="ignore"):
        expected = reference.conv(x, w, padding=1)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
    finite = np.isfinite(expected)
    assert finite.any()
    np.testing.assert_allclose(y[finite], expected[finite], rtol=1e-12, atol=1e-12)


def test_operands_the_transforms_would_overflow_keep_the_implicit_gemm(emulator):
    """|x| ~ 1e37 with |w| ~ 1e-6 in float32: the outputs (~1e31) are finite, Bᵀ d B (up to
    196 |x|) is not; such a call keeps the implicit GEMM, and both stay finite."""
    rng = np.random.default_rng()
    x = (rng.standard_normal((1, 16, 8, 8)) * 1e37).astype(np.float32)
    w = (rng.standard_normal((16, 16, 3, 3)) * 1e-6).astype(np.float32)
    geometry = ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype=np.float32)
    y, names = emulated(emulator, lambda b: b.conv(x, w, geometry))
    assert not any(name.startswith(TRANSFORMS) for name in names)
    expected = reference.conv(x.astype(np.float64), w.astype(np.float64), padding=1)
    assert np.isfinite(y).all() and relative_error(y, expected) <= TOLERANCE[np.float32]
    g = (rng.standard_normal((1, 16, 8, 8)) * 1e-30).astype(np.float32)
    dw, names = emulated(emulator, lambda b: b.conv_weight_grad(x, g, geometry))
    assert not any(name.startswith("winograd") for name in names)
    assert np.isfinite(dw).all()


def test_the_growth_bound_of_the_transforms():
    """keeps_finite bounds V = Bᵀ d B by ‖Bᵀ‖²_∞ |d| (196 at the points 0, ±1, 1/2, -2), and
    that bound is reached: d = ±1 in the signs of a row of Bᵀ ⊗ Bᵀ."""
    from convproof.cpu.winograd import transforms
    from convproof.symbolic.winograd import keeps_finite, kronecker_gains

    BT = transforms(4, np.dtype(np.float64))[2]
    worst = np.outer(np.sign(BT[0]), np.sign(BT[0]))
    assert (BT @ worst @ BT.T)[0, 0] == pytest.approx(kronecker_gains(4, 3)["input"], rel=1e-12)
    limit = float(np.finfo(np.float32).max)
    assert keeps_finite(4, 3, "correlate", dict(x=10.0, w=1.0), 512, limit)
    assert not keeps_finite(4, 3, "correlate", dict(x=1e37, w=1e-6), 16, limit)
    assert not keeps_finite(4, 3, "correlate_weight_grad", dict(x=np.nan, g=1.0), 1, limit)
    assert not keeps_finite(4, 3, "correlate_weight_grad", dict(x=1.0, g=np.inf), 1, limit)


def test_transforms_print_the_exact_entries():
    """Σ c_i t_i with zero coefficients dropped and ±1 without a product, each coefficient
    the float of the exact rational (a value that float32 rounds is rounded once)."""
    from sympy import Rational

    assert W.combination([0, 1, -1, Rational(1, 2)], ["a", "b", "c", "d"], "double") \
        == "b - c + 0.5 * d"
    assert W.combination([-2, 0, 1], ["a", "b", "c"], "float") == "-2.0f * a + c"
    assert W.combination([Rational(1, 6)], ["a"], "float") \
        == f"{float(np.float32(1 / 6))!r}f * a"
    assert W.combination([0, 0], ["a", "b"], "float") == "(float)0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, c_in, c_out, size, pads, groups, dilation", CASES)
def test_weight_gradient_against_the_reference(emulator, dtype, batch, c_in, c_out, size, pads,
                                               groups, dilation):
    """dw = Gᵀ [Σ_{b,t} (A g Aᵀ) ⊙ (Bᵀ d B)] G: the transforms' adjoints around the split
    weight-gradient GEMM of the 1x1 correlation."""
    rng = np.random.default_rng()
    x = rng.standard_normal((batch, c_in, *size)).astype(dtype)
    geometry = ConvGeometry((3, 3), (1, 1), pads, dilation, groups, dtype=dtype)
    g = rng.standard_normal((batch, c_out, *_output(size, pads, dilation))).astype(dtype)
    dw, names = emulated(emulator, lambda b: b.conv_weight_grad(x, g, geometry))
    assert {"winograd_input", "winograd_gradient", "winograd_weights_adjoint"} <= {
        name.split("_f4x4")[0] for name in names}
    expected = reference.conv_weight_grad(x.astype(np.float64), (c_out, c_in // groups, 3, 3),
                                          g.astype(np.float64), padding=pads,
                                          dilation=dilation, groups=groups)
    assert dw.shape == expected.shape and dw.dtype == dtype
    assert relative_error(dw, expected) <= TOLERANCE[dtype]
    again, _ = emulated(emulator, lambda b: b.conv_weight_grad(x, g, geometry))
    np.testing.assert_array_equal(again, dw)  # the same bits on every run


@pytest.mark.parametrize("operand", ["x", "g"])
def test_weight_gradient_of_operands_that_are_not_finite_keeps_the_gemm(emulator, operand):
    rng = np.random.default_rng()
    x, g = rng.standard_normal((1, 16, 6, 6)), rng.standard_normal((1, 16, 6, 6))
    (x if operand == "x" else g)[0, 2, 3, 4] = np.inf
    geometry = ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype=np.float64)
    dw, names = emulated(emulator, lambda b: b.conv_weight_grad(x, g, geometry))
    assert not any(name.startswith(("winograd",)) for name in names)
    with np.errstate(invalid="ignore"):
        expected = reference.conv_weight_grad(x, (16, 16, 3, 3), g, padding=1)
    np.testing.assert_array_equal(np.isnan(dw), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(dw), np.isinf(expected))
