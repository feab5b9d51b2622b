"""The input gradient by columns on the GPU backend, its kernels run by the CPU emulator.

Groups with few input but many output channels (the 7x7 stem: 3 and 64) take the columns
W^T g as the implicit GEMM of a 1x1 correlation and gather them into dx (col2im), instead of
a GEMM per phase whose tiles would hold a few columns.  Checked against the float64 reference
on fresh random inputs (strides, asymmetric and non-zero padding, groups, 1-D to 3-D, the
transposed convolution's bias + relu, blocks of samples), with the launched kernels checked
so that the test cannot pass on another path.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from convproof import reference
from convproof.codegen import kernels as K
from convproof.codegen.kernels import ConvGeometry
from convproof.gpu.backend import Backend
from convproof.gpu.emulate import Emulator, compiler_available
from convproof.gpu.standard import ROUNDING, Recorder, relative_error

BACKEND = importlib.import_module("convproof.gpu.backend")  # convproof.gpu.backend is a function

pytestmark = pytest.mark.skipif(not compiler_available(), reason="no C++ compiler with OpenMP")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Emulator:
    return Emulator(tmp_path_factory.mktemp("col2im"))


def emulated(emulator: Emulator, call) -> tuple[list, list[str]]:
    """call(backend) on the emulated backend, and the names of the kernels it launched."""
    recorder = Recorder()
    call(Backend(recorder))
    emulator.prepare(launch.kernel for launch in recorder.launches)
    return call(Backend(emulator)), [launch.kernel.name for launch in recorder.launches]


CASES = [  # batch, c_in, c_out, kernel, stride, pads, size, groups, mode
    (2, 3, 32, (7, 7), (2, 2), ((3, 3), (3, 3)), (11, 13), 1, "zeros"),
    (3, 4, 40, (3, 3), (2, 1), ((1, 0), (1, 1)), (9, 8), 2, "reflect"),
    (2, 2, 16, (5,), (3,), ((2, 2),), (17,), 1, "circular"),
    (1, 1, 20, (2, 3, 2), (2, 1, 2), ((0, 1), (1, 1), (1, 0)), (5, 4, 6), 1, "replicate"),
]


def _output(size, kernel, stride, pads):
    return tuple((n + lo + hi - k) // s + 1
                 for n, k, s, (lo, hi) in zip(size, kernel, stride, pads))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, c_in, c_out, kernel, stride, pads, size, groups, mode", CASES)
@pytest.mark.parametrize("samples_a_block", [None, 1])
def test_input_gradient_by_columns(emulator, monkeypatch, dtype, batch, c_in, c_out, kernel,
                                   stride, pads, size, groups, mode, samples_a_block):
    rng = np.random.default_rng()
    if samples_a_block:  # blocks of one sample: the columns of one sample over the bound
        monkeypatch.setattr(BACKEND, "COLUMN_BYTES", 1)
    w = rng.standard_normal((c_out, c_in // groups, *kernel)).astype(dtype)
    g = rng.standard_normal((batch, c_out, *_output(size, kernel, stride, pads))).astype(dtype)
    geometry = ConvGeometry(kernel, stride, pads, (1,) * len(kernel), groups, mode=mode,
                            dtype=dtype)
    (dx,), names = emulated(emulator, lambda b: [b.conv_data_grad(g, w, geometry, size)])
    assert any("col2im" in name for name in names)
    expected = reference.conv_input_grad((batch, c_in, *size), w.astype(np.float64),
                                         g.astype(np.float64), stride=stride, padding=pads,
                                         groups=groups, padding_mode=mode)
    assert dx.shape == expected.shape and dx.dtype == dtype
    assert relative_error(dx, expected) <= TOLERANCE[dtype]


def test_transposed_convolution_by_columns_takes_its_epilogue(emulator):
    """A decoder's last layer (32 -> 3 channels, stride 2) with bias + relu."""
    rng = np.random.default_rng()
    x = rng.standard_normal((2, 32, 5, 6))
    w = rng.standard_normal((32, 3, 4, 4))
    bias = rng.standard_normal(3)
    geometry = ConvGeometry((4, 4), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, dtype=np.float64)
    (y,), names = emulated(emulator, lambda b: [b.conv_data_grad(
        x, w, geometry, (10, 12), bias, "relu", transposed=True)])
    assert any(name.startswith("conv_transpose2d_col2im") for name in names)
    expected = reference.conv_transpose(x, w, bias, stride=2, padding=1)
    expected = np.where(expected < 0, 0.0, expected)
    assert relative_error(y, expected) <= TOLERANCE[np.float64]


@pytest.mark.parametrize("channels", [(16, 32), (3, 8), (1, 1)])
def test_other_groups_keep_their_paths(emulator, channels):
    """Wide inputs (a GEMM per phase fills its tiles), and narrow outputs (depthwise: the
    columns would be a GEMM of a few terms), do not take the columns."""
    c_in, c_out = channels
    rng = np.random.default_rng()
    w = rng.standard_normal((c_out, c_in, 3, 3))
    g = rng.standard_normal((1, c_out, 4, 4))
    geometry = ConvGeometry((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, dtype=np.float64)
    (dx,), names = emulated(emulator, lambda b: [b.conv_data_grad(g, w, geometry, (8, 8))])
    assert not any("col2im" in name for name in names)
    expected = reference.conv_input_grad((1, c_in, 8, 8), w, g, stride=2, padding=1)
    assert relative_error(dx, expected) <= TOLERANCE[np.float64]


@pytest.mark.parametrize("precision", ["tf32", "bf16", "fp16"])
def test_the_columns_gemm_takes_the_tensor_cores_allowed(emulator, precision):
    """The columns' GEMM has C_in/G x taps filters a group (147 for the stem), so where the
    caller allows a precision it runs on tensor cores although C_in/G (3) is narrow: the
    reference of g and w rounded to that precision."""
    rng = np.random.default_rng()
    w = rng.standard_normal((64, 3, 7, 7)).astype(np.float32)
    g = rng.standard_normal((2, 64, 6, 6)).astype(np.float32)

    def call(backend: Backend) -> list:
        backend.tensor_cores = precision
        return [backend.correlate_input_grad(g, w, (2, 2), ((3, 3), (3, 3)), (1, 1), 1,
                                             (11, 11))]
    (dx,), names = emulated(emulator, call)
    assert any("col2im" in name for name in names)
    assert any(name.startswith("conv1d_fwd_k1_") and f"_{precision}_" in name for name in names)
    rounded = [ROUNDING[precision](a).astype(np.float64) for a in (w, g)]
    expected = reference.conv_input_grad((2, 3, 11, 11), *rounded, stride=2, padding=3)
    assert relative_error(dx, expected) <= TOLERANCE[np.float32]


def test_col2im_refuses_an_epilogue_outside_the_transposed_convolution():
    geometry = ConvGeometry((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1)
    with pytest.raises(ValueError, match="belongs to the transposed conv"):
        K.col2im(geometry, bias=True)
