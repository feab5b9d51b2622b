"""The generated kernels on a CUDA device, through CuPy (tests marked ``gpu``).

Run on a machine with a GPU: ``python -m pytest tests/test_gpu_backend.py -m gpu``.  Without
CuPy or a device they are skipped cleanly.  The device is a checked one: every output is
poisoned with NaN before the kernel runs (index outputs with -1), and every launch is followed
by a synchronization whose CUDA error, if any, names the kernel.  Each kernel of the standard
set is compared with the float64 reference, and ``convproof.functional`` on CuPy arrays with
PyTorch/cuDNN (TF32 off) and the reference on random configurations.

Without CuPy (this test runs everywhere): importing convproof.gpu works, calling it says CuPy
is needed.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convproof import functional, reference
from convproof.gpu import standard
from convproof.gpu.backend import Backend
from convproof.gpu.launch import Launch
from rounding import magnitude
from strategies import conv_cases, pool_cases, widened

CASES = standard.standard_cases()
REFERENCE_TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}
TORCH_TOLERANCE = {np.float64: 1e-10, np.float32: 1e-4}  # cuDNN's algorithms round differently
REDUCED_TORCH_TOLERANCE = {"tf32": 5e-3, "bf16": 3e-2, "fp16": 5e-3}
"""Against PyTorch (cuDNN's TF32, or float32), relative to the sum of |terms|: each input is
within 2^-11 (TF32, float16) or 2^-8 (bfloat16) of its float32 value."""
TORCH_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                   "circular": "circular"}


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_importing_needs_no_cupy_and_calling_says_it_is_needed():
    import convproof.gpu as gpu

    x, w = np.ones((1, 1, 4)), np.ones((1, 1, 2))
    with pytest.raises(ImportError, match="GPU backend needs CuPy"):
        gpu.correlate(x, w, (1,), ((0, 0),), (1,), 1)


def test_the_tensor_core_switches_leave_numpy_alone_and_reach_a_backend_made_inside(
        monkeypatch, rng):
    """Entering allow_tf32 needs no GPU and changes nothing for NumPy arrays; a backend made
    inside a block takes its precision, and every block gives the previous one back."""
    import convproof.gpu as gpu
    from convproof.gpu import module

    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    with gpu.allow_tf32():
        y = functional.conv2d(x, w, padding=1)
    np.testing.assert_array_equal(y, functional.conv2d(x, w, padding=1))
    monkeypatch.setattr(gpu, "_BACKEND", [])
    monkeypatch.setattr(module, "CupyDevice", lambda: standard.Recorder())
    with gpu.allow_bf16():
        assert gpu.backend().tensor_cores == "bf16"
        with gpu.allow_tf32(False):
            assert gpu.backend().tensor_cores is None
            with gpu.allow_fp16():
                assert gpu.backend().tensor_cores == "fp16"
            assert gpu.backend().tensor_cores is None
        assert gpu.backend().tensor_cores == "bf16"
    assert gpu.backend().tensor_cores is None


def test_the_gpu_backend_has_the_cpu_backends_functions_and_signatures():
    import inspect

    from convproof import cpu, gpu

    for name in cpu.__all__:
        assert hasattr(gpu, name), name
        if callable(getattr(cpu, name)):
            ours = inspect.signature(getattr(gpu, name)).parameters
            theirs = [p for p in inspect.signature(getattr(cpu, name)).parameters.values()
                      if p.kind is not p.KEYWORD_ONLY]
            assert list(ours)[:len(theirs)] == [p.name for p in theirs], name
    assert gpu.FLOAT_DTYPES == cpu.FLOAT_DTYPES


def test_operands_that_do_not_fit_the_geometry_are_refused(rng):
    """Nothing compared a geometry with its arrays: a 2-tap geometry on 3-tap weights, groups
    of 2 on weights of one group, a g shorter than the output, a size that disagrees with g
    all ran, and gave the result of another conv (or read past an array)."""
    from convproof.codegen.kernels import ConvGeometry
    backend = Backend(standard.Recorder())
    x, w = rng.standard_normal((1, 4, 9)), rng.standard_normal((6, 4, 3))
    geometry = ConvGeometry((3,), (1,), ((0, 0),), (1,), dtype=np.float64)
    calls = {
        "does not hold kernels of the geometry's size \\(2,\\)": lambda: backend.conv(
            x, w, replace(geometry, kernel_size=(2,))),
        "4 input channels and 6 outputs in 2 groups do not fit w": lambda: backend.conv(
            x, w, replace(geometry, groups=2)),
        "x of shape \\(1, 1, 4, 9\\) is not a 3-D array": lambda: backend.conv(x[None], w,
                                                                               geometry),
        "w of shape \\(5,\\) is not a 3-D array": lambda: backend.conv_data_grad(
            rng.standard_normal((1, 6, 7)), np.ones(5), geometry, (9,)),
        "bias of shape list is not a 1-D array": lambda: backend.conv(x, w, geometry,
                                                                     bias=[1.0] * 6),
        "bias of shape \\(4,\\) is not \\(6,\\)": lambda: backend.conv(
            x, w, geometry, bias=np.ones(4)),
        "g of shape \\(1, 6, 5\\) is not the shape \\(1, 6, 7\\)": lambda: (
            backend.conv_weight_grad(x, rng.standard_normal((1, 6, 5)), geometry)),
        "not the shape \\(1, 6, 10\\) of the conv's output on inputs of shape \\(1, 4, 12\\)":
            lambda: backend.conv_data_grad(rng.standard_normal((1, 6, 7)), w, geometry, (12,)),
        "size \\(7, 7\\) has 2 axes for a 1-D geometry": lambda: backend.conv_data_grad(
            rng.standard_normal((1, 6, 7)), w, geometry, (7, 7)),
    }
    for message, call in calls.items():
        with pytest.raises(ValueError, match=message):
            call()
    assert backend.device.launches == []
    assert backend.conv(x, w, geometry).shape == (1, 6, 7)  # and the right ones still run


def test_the_gpu_benchmark_suite_is_registered():
    from convproof import bench
    from convproof.gpu.bench import gpu_suite

    assert gpu_suite in bench._GPU_SUITES


def test_the_gpu_suite_runs_the_cpu_layers_at_eight_times_their_batch():
    """The same layers and specs, N x 8 (at most 256), the batch in each name."""
    from convproof import bench
    from convproof.gpu.bench import gpu_layers

    pairs = list(zip(bench.CPU_LAYERS, gpu_layers(), strict=True))
    assert [gpu.batch for _, gpu in pairs] == [64, 64, 64, 64, 64, 64, 128, 64, 256, 256, 256,
                                                256, 64, 128, 64, 256]
    for cpu, gpu in pairs:
        assert gpu.name == f"{cpu.name} N={gpu.batch}" and gpu.spec == cpu.spec


# --------------------------------------------------------------------------------------------
# Fixtures: a checked device, PyTorch on CUDA with TF32 off
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cupy():
    return pytest.importorskip("cupy")


@pytest.fixture(scope="module")
def device(cupy):
    from convproof.gpu.module import CupyDevice
    return CupyDevice(checked=True)


@pytest.fixture(scope="module")
def on_gpu(device):
    """convproof.gpu (what functional calls for CuPy arrays) on the checked device."""
    import convproof.gpu as gpu

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gpu, "_BACKEND", [Backend(device)])
        yield gpu.backend()


@pytest.fixture(scope="module")
def cuda_torch(torch):
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA device")
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch


def host(array) -> np.ndarray:
    return array.get() if hasattr(array, "get") else np.asarray(array)


def close(actual, expected, tolerance: float, scale: float | None = None) -> None:
    """Within tolerance of max |expected|, or of the given scale (a sum of |terms|)."""
    error = standard.relative_error(host(actual), host(expected), scale)
    assert error <= tolerance, f"relative error {error:.3g}"


# --------------------------------------------------------------------------------------------
# Every standard kernel against the reference
# --------------------------------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=standard.names_of)
def test_standard_kernel_matches_the_reference(case, device, rng):
    outcome = standard.check(case, device, rng, to_host=host)
    assert outcome.ok, f"{case.describe()}: relative error {outcome.max_rel_err:.3g}"


@pytest.mark.gpu
@pytest.mark.parametrize("filters", [4, 32], ids=["one-block-per-pair", "split-gemm"])
def test_gradients_are_bitwise_repeatable(cupy, on_gpu, rng, filters):
    """4 filters a group: one block per (filter, channel) pair, 8 x 17 x 16 terms in 4 runs;
    32 (16 x 9 columns): the GEMM in 4 runs."""
    x = cupy.asarray(rng.standard_normal((8, 32, 33, 31)).astype(np.float32))
    w = cupy.asarray(rng.standard_normal((2 * filters, 16, 3, 3)).astype(np.float32))
    g = cupy.asarray(rng.standard_normal((8, 2 * filters, 17, 16)).astype(np.float32))
    options = dict(stride=2, padding=1, groups=2)
    weight = [functional.conv2d_weight(x, w.shape, g, **options).get() for _ in range(2)]
    data = [functional.conv2d_input(x.shape, w, g, **options).get() for _ in range(2)]
    assert weight[0].tobytes() == weight[1].tobytes()
    assert data[0].tobytes() == data[1].tobytes()
    expected = reference.conv_weight_grad(host(x).astype(np.float64), w.shape,
                                          host(g).astype(np.float64), **options)
    close(weight[0], expected, REFERENCE_TOLERANCE[np.float32])


@pytest.mark.gpu
@settings(max_examples=20)
@given(case=conv_cases(), filters=st.integers(16, 80),
       precision=st.sampled_from([(np.float64, None), (np.float32, None), (np.float32, "tf32"),
                                  (np.float32, "bf16"), (np.float32, "fp16")]))
def test_weight_gradient_of_wide_groups_matches_the_reference_and_pytorch(
        cupy, on_gpu, cuda_torch, case, filters, precision):
    """Groups of at least 16 filters and columns: the GEMM.  Against the reference (on x and g
    rounded to the precision allowed) and against cuDNN (TF32 as allowed, else off)."""
    import convproof.gpu as gpu

    torch, (dtype, tensor_cores) = cuda_torch, precision
    case = widened(case, filters)
    x, w, _, g = case.arrays(dtype)
    options, dims = case.kwargs, case.dims
    allow = gpu.ALLOW[tensor_cores or "tf32"]
    with allow(tensor_cores is not None):
        dw = getattr(functional, f"conv{dims}d_weight")(cupy.asarray(x), w.shape,
                                                        cupy.asarray(g), **options)
    rounding = standard.ROUNDING[tensor_cores] if tensor_cores else lambda a: a.astype(
        np.float64)
    operands = [rounding(a) for a in (x, g)]

    def definition(x, g):
        return reference.conv_weight_grad(x, w.shape, g, **options)

    close(dw, definition(*operands), REFERENCE_TOLERANCE[dtype], magnitude(definition, *operands))
    tx = torch.tensor(x, device="cuda")
    torch.backends.cudnn.allow_tf32 = tensor_cores == "tf32"
    try:
        padded = torch.nn.functional.pad(tx, [p for pair in reversed(options["padding"])
                                              for p in pair],
                                         mode=TORCH_PAD_MODES[options["padding_mode"]])
        grad = getattr(torch.nn.grad, f"conv{dims}d_weight")(
            padded, w.shape, torch.tensor(g, device="cuda"), stride=options["stride"],
            dilation=options["dilation"], groups=options["groups"])
    finally:
        torch.backends.cudnn.allow_tf32 = False
    exact = [a.astype(np.float64) for a in (x, g)]
    tolerance = REDUCED_TORCH_TOLERANCE.get(tensor_cores, TORCH_TOLERANCE[dtype])
    close(dw, grad.cpu().numpy(), tolerance, magnitude(definition, *exact))


@pytest.mark.gpu
def test_each_kernel_compiles_once_per_device(cupy, on_gpu, rng):
    from convproof.gpu import module

    x = cupy.asarray(rng.standard_normal((2, 3, 9, 9)))
    w = cupy.asarray(rng.standard_normal((5, 3, 3, 3)))
    functional.conv2d(x, w, padding=1)
    before = module.cached()
    functional.conv2d(x, w, padding=1)
    assert module.cached() == before
    assert len(set(before)) == len(before)
    assert all(device == cupy.cuda.runtime.getDevice() for _, device in before)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_kernels_flush_subnormals_as_documented(cupy, on_gpu, dtype):
    """CuPy compiles every kernel with -ftz=true (module.CUPY_OPTIONS): products of 2^-70 and
    2^-70 (2^-140, below float32's smallest normal 2^-126) flush to zero in float32; float64
    keeps them, as the reference does."""
    tiny = 2.0**-70
    x, w = cupy.full((1, 1, 4), tiny, dtype), cupy.full((1, 1, 2), tiny, dtype)
    kept = reference.conv(host(x).astype(np.float64), host(w).astype(np.float64))
    assert np.all(kept == 2.0**-139)
    y = host(functional.conv1d(x, w))
    assert np.all(y == (0.0 if dtype == np.float32 else kept))


@pytest.mark.gpu
def test_device_peak_memory_of_either_allocator(cupy, cuda_torch):
    """device_peak_mib sees CuPy's pooled arrays (the most alive at once) and PyTorch's."""
    from convproof.gpu.bench import device_peak_mib

    def ours():  # 4 MiB allocated in all, at most 2 alive at once
        first = cupy.empty(2**21, np.uint8)
        del first
        return cupy.empty(2**20, np.uint8) + 1

    mib = device_peak_mib(ours)
    assert 2.0 <= mib < 2.1, mib
    torch_mib = device_peak_mib(lambda: cuda_torch.ones(2**20, dtype=cuda_torch.uint8,
                                                        device="cuda") + 1)
    assert 2.0 <= torch_mib < 2.1, torch_mib


@pytest.mark.gpu
def test_tile_rows_time_every_candidate_table(cupy, cuda_torch):
    """One layer of the GPU suite, each candidate table (strict FP32) and each tensor-core tile
    (TF32) checked against cuDNN, then timed."""
    from convproof.gpu.bench import TENSOR_CORE_CANDIDATES, TILE_CANDIDATES, tile_rows

    rows = tile_rows(repeats=2, only="3x3 128->128 28")
    assert [row["layer"] for row in rows] == ["3x3 128->128 28 N=128",
                                              "3x3 128->128 28 N=128 TF32"]
    assert all("errors" not in row for row in rows), rows
    assert all(rows[0][name] > 0 for name in TILE_CANDIDATES)
    assert all(rows[1][name] > 0 for name in TENSOR_CORE_CANDIDATES)


@pytest.mark.gpu
def test_width_rows_time_both_index_widths_in_fp32_and_tf32(cupy, cuda_torch):
    """One layer, its forward with 64-bit and 32-bit indices, in strict FP32 and in TF32,
    and by Winograd in strict FP32, each checked against cuDNN, then timed."""
    from convproof.gpu.bench import INDEX_WIDTHS, WINOGRAD, width_rows

    rows = width_rows(repeats=2, only="3x3 128->128 28")
    assert [row["layer"] for row in rows] == ["3x3 128->128 28 N=128",
                                              "3x3 128->128 28 N=128 TF32"]
    assert all("errors" not in row for row in rows), rows
    assert all(row[name] > 0 for row in rows for name in INDEX_WIDTHS)
    assert all(rows[0][name] > 0 for name in WINOGRAD)


@pytest.mark.gpu
def test_a_failing_launch_names_the_kernel(cupy, device):
    from convproof.gpu.module import CudaLaunchError

    kernel = standard.kernels_of(CASES[0])[-1]
    with pytest.raises(CudaLaunchError, match=kernel.name):
        device.run(Launch(kernel, (1, 1, 1), (4096, 1, 1), tuple(
            cupy.zeros(1, p.dtype) if p.pointer else 1 for p in kernel.params)))


# --------------------------------------------------------------------------------------------
# functional on CuPy arrays against PyTorch/cuDNN and the reference
# --------------------------------------------------------------------------------------------

def _torch_conv(torch, case, x, w, b):
    s = case.spec
    flat = [p for pair in reversed(s.pads(case.size)) for p in pair]
    padded = torch.nn.functional.pad(x, flat, mode=TORCH_PAD_MODES[s.padding_mode])
    conv = getattr(torch.nn.functional, f"conv{s.dims}d")
    return conv(padded, w, b, stride=s.stride, dilation=s.dilation, groups=s.groups)


@pytest.mark.gpu
@settings(max_examples=40)
@given(case=conv_cases(), dtype=st.sampled_from([np.float64, np.float32]))
def test_conv_and_gradients_match_pytorch(cupy, on_gpu, cuda_torch, case, dtype):
    torch = cuda_torch
    x, w, b, g = case.arrays(dtype)
    options, dims = case.kwargs, case.dims
    on = [cupy.asarray(a) for a in (x, w, b, g)]
    y = getattr(functional, f"conv{dims}d")(on[0], on[1], on[2], **options)
    dx = getattr(functional, f"conv{dims}d_input")(x.shape, on[1], on[3], **options)
    dw = getattr(functional, f"conv{dims}d_weight")(on[0], w.shape, on[3], **options)
    assert isinstance(y, cupy.ndarray) and y.dtype == dtype
    tx, tw, tb = (torch.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b))
    ty = _torch_conv(torch, case, tx, tw, tb)
    ty.backward(torch.tensor(g, device="cuda"))
    x, w, b, g = (a.astype(np.float64) for a in (x, w, b, g))
    definitions = [
        (y, ty, lambda x, w, b: reference.conv(x, w, b, **options), (x, w, b)),
        (dx, tx.grad, lambda w, g: reference.conv_input_grad(x.shape, w, g, **options), (w, g)),
        (dw, tw.grad, lambda x, g: reference.conv_weight_grad(x, w.shape, g, **options), (x, g))]
    for ours, theirs, definition, operands in definitions:
        scale = magnitude(definition, *operands)
        close(ours, theirs.detach().cpu().numpy(), TORCH_TOLERANCE[dtype], scale)
        close(ours, definition(*operands), REFERENCE_TOLERANCE[dtype], scale)


@pytest.mark.gpu
@settings(max_examples=20)
@given(case=conv_cases(), filters=st.integers(16, 80), inputs=st.integers(1, 40),
       precision=st.sampled_from(["tf32", "bf16", "fp16"]))
def test_tensor_core_forward_matches_the_rounded_reference_and_pytorch(
        cupy, on_gpu, cuda_torch, case, filters, inputs, precision):
    """Within allow_tf32 (allow_bf16, allow_fp16) the forward of groups with 16 or more
    filters is the exact correlation of the rounded inputs up to float32 sums (float32
    products would miss that by ~1e-4), and close to cuDNN's TF32 (to float32)."""
    import convproof.gpu as gpu

    torch = cuda_torch
    case = widened(case, filters, inputs)
    x, w, b, _ = case.arrays(np.float32)
    options, dims = case.kwargs, case.dims
    allow = gpu.ALLOW[precision]
    with allow():
        y = getattr(functional, f"conv{dims}d")(*(cupy.asarray(a) for a in (x, w, b)), **options)

    def definition(x, w, b):
        return reference.conv(x, w, b, **options)

    rounded = [standard.ROUNDING[precision](a) for a in (x, w)] + [b.astype(np.float64)]
    close(y, definition(*rounded), REFERENCE_TOLERANCE[np.float32],
          magnitude(definition, *rounded))
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    try:
        ty = _torch_conv(torch, case, *(torch.tensor(a, device="cuda") for a in (x, w, b)))
    finally:
        torch.backends.cudnn.allow_tf32 = False
    exact = [a.astype(np.float64) for a in (x, w, b)]
    close(y, ty.cpu().numpy(), REDUCED_TORCH_TOLERANCE[precision], magnitude(definition, *exact))


@st.composite
def symmetric_transposed_cases(draw):
    """conv_cases with output_padding and zero padding, each (lo, hi) pair replaced by (p, p)
    with p one of lo and hi: PyTorch's transposed convolution pads both sides alike."""
    case = draw(conv_cases(modes=("zeros",), output_padding=True))
    padding = []
    for n, (lo, hi), span in zip(case.size, case.spec.pads(case.size), case.spec.span):
        p = draw(st.sampled_from((lo, hi)))
        assume(n + 2 * p >= span)  # the forward, whose output g is, still has an output
        padding.append((p, p))
    return replace(case, spec=replace(case.spec, padding=tuple(padding)))


@pytest.mark.gpu
@settings(max_examples=25)
@given(case=symmetric_transposed_cases(), dtype=st.sampled_from([np.float64, np.float32]))
def test_transposed_conv_matches_pytorch(cupy, on_gpu, cuda_torch, case, dtype):
    torch, s = cuda_torch, case.spec
    pads = s.pads(case.size)
    assert all(lo == hi for lo, hi in pads)
    _, w, _, g = case.arrays(dtype)
    options = dict(stride=s.stride, padding=tuple(lo for lo, _ in pads),
                   output_padding=s.output_padding, groups=s.groups, dilation=s.dilation)
    operands = [a.astype(np.float64) for a in (g, w)]

    def definition(g, w):
        return reference.conv_transpose(g, w, **options)

    def on_device():
        return getattr(functional, f"conv_transpose{s.dims}d")(cupy.asarray(g), cupy.asarray(w),
                                                               **options)
    try:
        expected = definition(*operands)
    except ValueError:  # no output: the GPU path refuses it too
        with pytest.raises(ValueError):
            on_device()
        return
    scale = magnitude(definition, *operands)
    ours = on_device()
    theirs = getattr(torch.nn.functional, f"conv_transpose{s.dims}d")(
        torch.tensor(g, device="cuda"), torch.tensor(w, device="cuda"), **options)
    close(ours, theirs.cpu().numpy(), TORCH_TOLERANCE[dtype], scale)
    close(ours, expected, REFERENCE_TOLERANCE[dtype], scale)


@pytest.mark.gpu
@settings(max_examples=30)
@given(case=pool_cases(), dtype=st.sampled_from([np.float64, np.float32]))
def test_pooling_matches_pytorch(cupy, on_gpu, cuda_torch, case, dtype):
    torch, s, dims = cuda_torch, case.spec, len(case.size)
    x, g = case.arrays(dtype)
    window = dict(kernel_size=s.kernel_size, stride=s.stride, padding=s.padding,
                  ceil_mode=s.ceil_mode)
    cx, cg = cupy.asarray(x), cupy.asarray(g)
    tx = torch.tensor(x, device="cuda", requires_grad=True)
    ty, tindex = getattr(torch.nn.functional, f"max_pool{dims}d")(
        tx, dilation=s.dilation, return_indices=True, **window)
    ty.backward(torch.tensor(g, device="cuda"))
    y, index = getattr(functional, f"max_pool{dims}d")(cx, dilation=s.dilation,
                                                       return_indices=True, **window)
    close(y, ty.detach().cpu().numpy(), TORCH_TOLERANCE[dtype])
    inside = host(index) >= 0  # a window wholly in the padding (dilation) has no position: -1
    assert np.array_equal(host(index)[inside], tindex.cpu().numpy()[inside])
    assert np.all(host(y)[~inside] == -np.inf)
    if not inside.all():
        return  # PyTorch's index for such a window points outside the input (and so its grad)
    x64 = x.astype(np.float64)
    routed = magnitude(lambda g: reference.max_pool_backward(
        g, x64, s.kernel_size, s.stride, s.padding, s.dilation, s.ceil_mode), g)
    close(getattr(functional, f"max_pool{dims}d_backward")(cg, cx, dilation=s.dilation,
                                                           **window),
          tx.grad.cpu().numpy(), TORCH_TOLERANCE[dtype], routed)
    if any(d != 1 for d in s.dilation):
        return  # average pooling has no dilation
    for include in (True, False):
        tx = torch.tensor(x, device="cuda", requires_grad=True)
        ty = getattr(torch.nn.functional, f"avg_pool{dims}d")(tx, count_include_pad=include,
                                                              **window)
        ty.backward(torch.tensor(g, device="cuda"))
        args = (s.kernel_size, s.stride, s.padding, s.ceil_mode, include)
        close(getattr(functional, f"avg_pool{dims}d")(cx, count_include_pad=include, **window),
              ty.detach().cpu().numpy(), TORCH_TOLERANCE[dtype],
              magnitude(lambda x, args=args: reference.avg_pool(x, *args), x))
        close(getattr(functional, f"avg_pool{dims}d_backward")(cg, cx,
                                                               count_include_pad=include,
                                                               **window),
              tx.grad.cpu().numpy(), TORCH_TOLERANCE[dtype],
              magnitude(lambda g, args=args: reference.avg_pool_backward(g, x64, *args), g))
