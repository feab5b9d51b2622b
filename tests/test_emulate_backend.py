"""convproof.functional on the GPU backend, its kernels run by the CPU emulator.

The backend that :mod:`convproof.functional` uses for CuPy arrays is swapped in for NumPy
arrays (its kernels run under emulation), so the whole GPU path, padding modes, transposed
convolution, gradients and pooling composed by the functional API, is compared with the
float64 reference on random configurations: the same checks the GPU tests make with CuPy.
Each example first runs on a recording device (nothing computed) to learn its kernels, which
are then compiled in one compiler run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from convproof import functional, reference
from convproof.bench import ConvLayer
from convproof.codegen import kernels as K
from convproof.codegen import skeleton
from convproof.codegen.kernels import ConvGeometry
from convproof.codegen.skeleton import tile_table
from convproof.gpu import bench as gpu_bench
from convproof.gpu import launch
from convproof.gpu.backend import Backend
from convproof.gpu.emulate import Emulator, compiler_available
from convproof.gpu.standard import ROUNDING, Recorder, relative_error
from convproof.spec import PoolSpec
from rounding import magnitude
from strategies import OVERHANG, conv_cases, pool_cases, widened

pytestmark = pytest.mark.skipif(not compiler_available(), reason="no C++ compiler with OpenMP")

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Emulator:
    return Emulator(tmp_path_factory.mktemp("backend"))


def twice(emulator: Emulator, calls: Callable[[Backend], list]) -> list:
    """calls(backend) on a recording backend, then (its kernels compiled at once) emulated."""
    recorder = Recorder()
    calls(Backend(recorder))
    emulator.prepare(entry.kernel for entry in recorder.launches)
    return calls(Backend(emulator))


def on_emulator(emulator: Emulator, calls: Callable[[], list]) -> list:
    """``calls()`` with functional on the emulated GPU backend."""
    with pytest.MonkeyPatch.context() as patch:
        def through(backend: Backend) -> list:
            patch.setattr(functional, "_backend", lambda named: backend)
            return calls()
        return twice(emulator, through)


def close(actual, expected, dtype, scale: float | None = None) -> None:
    """Within TOLERANCE of max |expected|, or of the given scale (a sum of |terms|)."""
    assert actual.dtype == dtype
    assert relative_error(actual, expected, scale) <= TOLERANCE[dtype]


def close_to(actual, definition: Callable, operand, dtype) -> None:
    """actual against a definition linear in one operand, relative to its sum of |terms|."""
    operand = operand.astype(np.float64)
    close(actual, definition(operand), dtype, magnitude(definition, operand))


def api(name: str, dims: int) -> Callable:
    """functional.conv2d for api("conv{}d", 2)."""
    return getattr(functional, name.format(dims))


@settings(max_examples=8)
@given(case=conv_cases(output_padding=True), dtype=st.sampled_from([np.float64, np.float32]))
def test_conv_forward_and_gradients(emulator, case, dtype):
    x, w, b, g = case.arrays(dtype)
    options, dims = case.kwargs, case.dims
    y, dx, dw = on_emulator(emulator, lambda: [
        api("conv{}d", dims)(x, w, b, **options),
        api("conv{}d_input", dims)(x.shape, w, g, **options),
        api("conv{}d_weight", dims)(x, w.shape, g, **options)])
    close_to_definitions(dtype, options, x, w, b, g, y, dx, dw)


@settings(max_examples=5)
@given(case=conv_cases(), filters=st.integers(16, 24), inputs=st.integers(16, 24),
       precision=st.sampled_from(["tf32", "bf16", "fp16"]))
def test_gemms_on_tensor_cores_are_exact_sums_of_the_rounded_inputs(emulator, case, filters,
                                                                    inputs, precision):
    """With tensor cores allowed and 16 or more channels a group, the float32 forward, input
    gradient (a correlation per phase) and weight gradient run on tensor cores: the
    reference on the operands rounded to the precision matches to float32 sums."""
    case = widened(case, filters, inputs)
    x, w, b, g = case.arrays(np.float32)
    options, dims = case.kwargs, case.dims
    launched = []

    def calls() -> list:
        backend = functional._backend({"x": x})
        backend.tensor_cores = precision
        outputs = [api("conv{}d", dims)(x, w, b, **options),
                   api("conv{}d_input", dims)(x.shape, w, g, **options),
                   api("conv{}d_weight", dims)(x, w.shape, g, **options)]
        launched.extend(entry.kernel.name for entry in getattr(backend.device, "launches", []))
        return outputs

    y, dx, dw = on_emulator(emulator, calls)
    gemms = [name for name in launched if "_fwd_" in name or "_bwd_weight_" in name]
    assert gemms and all(f"_{precision}_" in name for name in gemms), launched
    rounded = {k: ROUNDING[precision](a) for k, a in (("x", x), ("w", w), ("g", g))}

    def forward(x, w, b):
        return reference.conv(x, w, b, **options)

    def input_grad(w, g):
        return reference.conv_input_grad(x.shape, w, g, **options)

    def weight_grad(x, g):
        return reference.conv_weight_grad(x, w.shape, g, **options)

    for actual, definition, operands in [
            (y, forward, (rounded["x"], rounded["w"], b.astype(np.float64))),
            (dx, input_grad, (rounded["w"], rounded["g"])),
            (dw, weight_grad, (rounded["x"], rounded["g"]))]:
        close(actual, definition(*operands), np.float32, magnitude(definition, *operands))


@settings(max_examples=6)
@given(case=conv_cases(), filters=st.integers(16, 40), splits=st.integers(1, 4),
       precision=st.sampled_from([(np.float64, None), (np.float32, None), (np.float32, "tf32"),
                                  (np.float32, "bf16"), (np.float32, "fp16")]))
def test_weight_gradient_of_wide_groups_is_a_split_gemm(emulator, case, filters, splits,
                                                        precision):
    """Groups of at least 16 filters and 16 columns (C_in/G x taps) take the implicit GEMM,
    its sum over batch x pixels cut into ``splits`` runs (drawn here in place of the rule) and
    added in order: the reference's gradient; with tensor cores allowed, the reference on x and
    g rounded to the precision."""
    dtype, tensor_cores = precision
    case = widened(case, filters)
    x, w, _, g = case.arrays(dtype)
    launched: list[str] = []

    def calls() -> list:
        backend = functional._backend({"x": x})
        backend.tensor_cores = tensor_cores
        dw = api("conv{}d_weight", case.dims)(x, w.shape, g, **case.kwargs)
        launched.extend(entry.kernel.name for entry in getattr(backend.device, "launches", []))
        return [dw]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(launch, "splits_for", lambda *shape: splits)
        (dw,) = on_emulator(emulator, calls)
    tag = (f"_{tensor_cores}_t64x64" if tensor_cores else "_t64x64") + "_i32"  # small arrays
    weight = [name for name in launched if "_bwd_weight_" in name]
    assert weight and all(name.endswith(tag) for name in weight), launched
    assert any(name.startswith("sum_splits") for name in launched) == (splits > 1), launched
    rounding = ROUNDING[tensor_cores] if tensor_cores else lambda a: a.astype(np.float64)
    operands = [rounding(a) for a in (x, g)]

    def definition(x, g):
        return reference.conv_weight_grad(x, w.shape, g, **case.kwargs)

    close(dw, definition(*operands), dtype, magnitude(definition, *operands))


def close_to_definitions(dtype, options: dict, x, w, b, g, y, dx, dw, activation=None) -> None:
    """y, dx, dw against the reference's conv and gradients (y through the activation)."""
    x, w, b, g = (a.astype(np.float64) for a in (x, w, b, g))
    forward = activation or (lambda y: y)
    definitions = [
        (y, lambda x, w, b: forward(reference.conv(x, w, b, **options)), (x, w, b)),
        (dx, lambda w, g: reference.conv_input_grad(x.shape, w, g, **options), (w, g)),
        (dw, lambda x, g: reference.conv_weight_grad(x, w.shape, g, **options), (x, g))]
    for actual, definition, operands in definitions:
        close(actual, definition(*operands), dtype, magnitude(definition, *operands))


@settings(max_examples=8)
@given(case=conv_cases(modes=("reflect", "replicate", "circular")),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_padding_modes_inside_the_kernels(emulator, case, dtype):
    """The kernels that read through pi and gather through P^T themselves (no pad kernel)."""
    x, w, b, g = case.arrays(dtype)
    geometry = ConvGeometry.of(case.spec, case.size, dtype)
    y, dx, dw = twice(emulator, lambda backend: [
        backend.conv(x, w, geometry, b, "relu"), backend.conv_data_grad(g, w, geometry, case.size),
        backend.conv_weight_grad(x, g, geometry)])
    close_to_definitions(dtype, case.kwargs, x, w, b, g, y, dx, dw,
                         activation=lambda y: np.maximum(y, 0))


@settings(max_examples=6)
@given(case=conv_cases(output_padding=True), dtype=st.sampled_from([np.float64, np.float32]))
def test_transposed_convolution(emulator, case, dtype):
    s = case.spec
    _, w, _, g = case.arrays(dtype)
    bias = np.random.default_rng(case.seed + 1).standard_normal(s.in_channels).astype(dtype)
    options = dict(stride=s.stride, padding=s.pads(case.size), output_padding=s.output_padding,
                   groups=s.groups, dilation=s.dilation, padding_mode=s.padding_mode)
    operands = [a.astype(np.float64) for a in (g, w, bias)]

    def definition(g, w, bias):
        return reference.conv_transpose(g, w, bias, **options)

    def emulated() -> list:
        return on_emulator(emulator, lambda: [api("conv_transpose{}d", case.dims)(g, w, bias,
                                                                                  **options)])
    try:
        expected = definition(*operands)
    except ValueError:  # no output, or a padding the transposed size cannot carry: refused too
        with pytest.raises(ValueError):
            emulated()
        return
    (y,) = emulated()
    close(y, expected, dtype, magnitude(definition, *operands))


@settings(max_examples=8)
@given(case=pool_cases(), dtype=st.sampled_from([np.float64, np.float32]))
@example(case=OVERHANG, dtype=np.float32)
def test_max_pooling(emulator, case, dtype):
    x, g = case.arrays(dtype)
    s, dims = case.spec, len(case.size)
    window = dict(kernel_size=s.kernel_size, stride=s.stride, padding=s.padding,
                  dilation=s.dilation, ceil_mode=s.ceil_mode)
    def forward_and_backwards() -> list:  # the backward finds the arg-max again, or is given it
        y, indices = api("max_pool{}d", dims)(x, return_indices=True, **window)
        backward = api("max_pool{}d_backward", dims)
        return [(y, indices), backward(g, x, **window), backward(g, x, **window, indices=indices)]
    (y, indices), dx, dx_saved = on_emulator(emulator, forward_and_backwards)
    args = (s.kernel_size, s.stride, s.padding, s.dilation, s.ceil_mode)
    expected_y, expected_indices = reference.max_pool(x.astype(np.float64), *args)
    close(y, expected_y, dtype)
    assert np.array_equal(indices, expected_indices)
    for routed in (dx, dx_saved):
        close_to(routed, lambda g: reference.max_pool_backward(g, x.astype(np.float64), *args),
                 g, dtype)


def _routed_in_order(g: np.ndarray, indices: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """dx[b, c, idx[b, c, i]] += g[b, c, i], output by output: the definition, as loops."""
    planes, positions = g.shape[0] * g.shape[1], math.prod(g.shape[2:])
    dx = np.zeros((planes, math.prod(size)))
    for plane in range(planes):
        for i in range(positions):
            if (at := indices.reshape(planes, -1)[plane, i]) >= 0:
                dx[plane, at] += g.reshape(planes, -1)[plane, i]
    return dx.reshape(*g.shape[:2], *size)


@pytest.mark.parametrize("adaptive", [False, True])
def test_saved_indices_are_gathered_in_their_windows_and_routed_elsewhere(emulator, rng,
                                                                          adaptive):
    """A max pooling's backward gathers over the windows of each pixel where one pass finds
    every saved index inside its output's window (as the forward saves them); an index
    elsewhere (or -1) is routed where it points, plane by plane, as on the CPU."""
    size, spec = (7, 6), PoolSpec((3, 3), 2, 1)
    x = rng.standard_normal((2, 3, *size))
    y, indices = (reference.adaptive_max_pool(x, (3, 4)) if adaptive
                  else reference.max_pool(x, (3, 3), 2, 1))
    g = rng.standard_normal(y.shape)
    spoiled = indices.copy()
    spoiled[0, 1, 0, 0], spoiled[1, 2, -1, -1], spoiled[1, 0, 1, 1] = 41, 0, -1
    recorder = Recorder(emulator)
    backend = Backend(recorder)
    for saved, routed in ((indices, False), (spoiled, True)):
        recorder.launches.clear()
        dx = (backend.adaptive_max_pool_backward(g, saved, size) if adaptive
              else backend.max_pool_backward(g, saved, size, spec))
        names = [launch.kernel.name for launch in recorder.launches]
        assert "indices_inside" in names[0] and names[-1].startswith("route_by_index") == routed
        np.testing.assert_allclose(dx, _routed_in_order(g, saved, size), rtol=1e-12, atol=1e-12)


def test_indices_found_again_by_the_backward_are_not_checked(rng):
    """The indices a max pooling's backward finds again itself lie in their windows: no pass
    over them (a kernel and a wait for the device) before the gather."""
    x = rng.standard_normal((2, 3, 7, 6))
    g = rng.standard_normal((2, 3, 4, 3))
    for backward, extra in ((functional.max_pool2d_backward, dict(kernel_size=3, stride=2,
                                                                   padding=1)),
                            (functional.adaptive_max_pool2d_backward, dict(output_size=(4, 3)))):
        for saved in (False, True):
            recorder = Recorder()
            backend = Backend(recorder)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(functional, "_backend", lambda named, backend=backend: backend)
                indices = None
                if saved:
                    pool = (functional.max_pool2d if "kernel_size" in extra
                            else functional.adaptive_max_pool2d)
                    indices = pool(x, **extra, return_indices=True)[1]
                    recorder.launches.clear()
                backward(g, x, **extra, indices=indices)
            checked = ["indices_inside" in launch.kernel.name for launch in recorder.launches]
            assert any(checked) == saved


@settings(max_examples=6)
@given(case=pool_cases(dilation=False), dtype=st.sampled_from([np.float64, np.float32]),
       include=st.booleans())
@example(case=OVERHANG, dtype=np.float64, include=True)
@example(case=OVERHANG, dtype=np.float32, include=False)
def test_average_pooling(emulator, case, dtype, include):
    x, g = case.arrays(dtype)
    s, dims = case.spec, len(case.size)
    window = dict(kernel_size=s.kernel_size, stride=s.stride, padding=s.padding,
                  ceil_mode=s.ceil_mode, count_include_pad=include)
    y, dx = on_emulator(emulator, lambda: [api("avg_pool{}d", dims)(x, **window),
                                           api("avg_pool{}d_backward", dims)(g, x, **window)])
    args = (s.kernel_size, s.stride, s.padding, s.ceil_mode, include)
    close_to(y, lambda x: reference.avg_pool(x, *args), x, dtype)
    close_to(dx, lambda g: reference.avg_pool_backward(g, x.astype(np.float64), *args), g, dtype)


@pytest.mark.parametrize("filters", [4, 6])  # the direct kernel, the implicit GEMM
def test_an_empty_batch_launches_nothing(emulator, filters):
    """N = 0 gives the shapes of the NumPy path (a GEMM of no rows would have no tiles)."""
    x, g = np.zeros((0, 3, 9), np.float32), np.zeros((0, filters, 7), np.float32)
    w = np.ones((filters, 3, 3), np.float32)

    def calls():
        return [functional.conv1d(x, w),
                functional.convolve1d(x, w, padding=1, padding_mode="reflect"),
                functional.conv1d_input(x.shape, w, g),
                functional.conv_transpose1d(g, w, stride=2),
                functional.conv1d_weight(x, w.shape, g)]
    on_gpu = on_emulator(emulator, calls)
    for got, want in zip(on_gpu, calls()):
        assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(on_gpu[-1], np.zeros(w.shape))


@pytest.mark.parametrize("c_in, c_out", [(4, 0), (0, 3)])
def test_a_weight_gradient_without_channels_is_empty(emulator, rng, c_in, c_out):
    """No filter or no input channel: a weight of no entries, as on NumPy (the split rule
    would count its blocks as zero)."""
    geometry = ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), dtype=np.float64)
    x, g = rng.standard_normal((2, c_in, 5, 5)), rng.standard_normal((2, c_out, 5, 5))
    assert Backend(emulator).conv_weight_grad(x, g, geometry).shape == (c_out, c_in, 3, 3)


def launched(call: Callable[[Backend], object]) -> list[str]:
    """The names of the kernels ``call(backend)`` launches (recorded, nothing computed)."""
    recorder = Recorder()
    call(Backend(recorder))
    return [entry.kernel.name for entry in recorder.launches]


@pytest.mark.parametrize("filters", [1, 16])  # the direct kernel, the implicit GEMM
def test_padding_beyond_32_bits_keeps_64_bit_indices(emulator, filters):
    """The padding, stride and dilation are printed into the source as constants: with
    padding 2^32 the only tap's position -2^32 is 0 in an int, inside the input, though every
    array holds a handful of entries.  The 64-bit kernel reads the padding: y = bias."""
    rng = np.random.default_rng()
    x = rng.standard_normal((1, 1, 1)).astype(np.float32)
    w = rng.standard_normal((filters, 1, 1)).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    geometry = ConvGeometry((1,), (2**34,), ((2**32, 2**32),), (1,))
    (y,) = twice(emulator, lambda b: [b.conv(x, w, geometry, bias)])
    np.testing.assert_array_equal(y, np.broadcast_to(bias[:, None], (1, filters, 1)))
    assert not any(name.endswith("_i32") for name in launched(lambda b: b.conv(x, w, geometry)))


@pytest.mark.parametrize("stride, narrow", [(2**29 - 1, True), (2**29, False)])
def test_32_bit_indices_up_to_an_extent_of_2_to_the_30(stride, narrow):
    """The extent n + p_lo + p_hi + d (k - 1) + s, 1 + 2^29 + s for the conv, 2^29 + s + 1
    for the pooling: 2^30 takes the 32-bit variant, one more the 64-bit kernel, forward,
    both gradients and pooling alike."""
    x = np.ones((1, 1, 1), np.float32)
    w, g = np.ones((1, 1, 1), np.float32), np.ones((1, 1, 2), np.float32)
    geometry = ConvGeometry((1,), (stride,), ((2**28, 2**28),), (1,))
    pool = PoolSpec((2**28,), (stride + 1,), (2**27,))
    names = launched(lambda b: [b.conv(x, w, geometry), b.conv_weight_grad(x, g, geometry),
                                b.conv_data_grad(g, w, geometry, (1,), x[0, 0],
                                                 transposed=True),
                                b.max_pool(x, pool), b.avg_pool(x, pool, True)])
    assert len(names) == 5 and all(name.endswith("_i32") == narrow for name in names), names


@settings(max_examples=5)
@given(data=st.data(), dims=st.sampled_from([1, 2, 3]))
def test_adaptive_pooling(emulator, data, dims):
    size = tuple(data.draw(st.integers(1, 9)) for _ in range(dims))
    out = tuple(data.draw(st.integers(1, 9)) for _ in range(dims))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x, g = rng.standard_normal((2, 3, *size)), rng.standard_normal((2, 3, *out))
    def pools() -> list:
        ym, indices = api("adaptive_max_pool{}d", dims)(x, out, return_indices=True)
        backward = api("adaptive_max_pool{}d_backward", dims)
        return [api("adaptive_avg_pool{}d", dims)(x, out),
                api("adaptive_avg_pool{}d_backward", dims)(g, x), (ym, indices),
                backward(g, x, out), backward(g, x, out, indices=indices)]
    y, dx, (ym, indices), dxm, dxm_saved = on_emulator(emulator, pools)
    close(y, reference.adaptive_avg_pool(x, out), np.float64)
    close(dx, reference.adaptive_avg_pool_backward(g, x), np.float64)
    expected_y, expected_indices = reference.adaptive_max_pool(x, out)
    close(ym, expected_y, np.float64)
    assert np.array_equal(indices, expected_indices)
    close(dxm, reference.adaptive_max_pool_backward(g, x, out), np.float64)
    close(dxm_saved, reference.adaptive_max_pool_backward(g, x, out), np.float64)


@pytest.mark.parametrize("candidate", list(gpu_bench.TILE_CANDIDATES))
def test_each_candidate_tile_table_computes_the_forward(emulator, rng, candidate):
    """The tables that the GPU bench times against each other (tile_rows) give the forward
    of the reference, for a channel count in every row of the table, with their own tiles."""
    table = gpu_bench.TILE_CANDIDATES[candidate]
    x = rng.standard_normal((2, 6, 9, 9)).astype(np.float32)
    weights = [rng.standard_normal((bound if bound < 2**62 else 70, 6, 3, 3)).astype(np.float32)
               for bound, _ in table]
    launched = []

    def calls(backend: Backend) -> list:
        with tile_table(table):
            outputs = [backend.correlate(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
                       for w in weights]
        launched.extend(entry.kernel.name for entry in getattr(backend.device, "launches", []))
        return outputs

    for y, w in zip(twice(emulator, calls), weights):
        close(y, reference.conv(x, w, padding=1), np.float32)
    tags = [name.removesuffix("_i32").rsplit("_", 1)[1] for name in launched]
    assert tags == [tile.tag for _, tile in table]
    assert skeleton.TILES == K.TILES  # restored


@pytest.mark.parametrize("candidate", list(gpu_bench.TENSOR_CORE_CANDIDATES))
def test_each_tensor_core_tile_computes_the_forward_and_weight_gradient(emulator, rng,
                                                                        candidate):
    """The tensor-core tiles that the GPU bench times in TF32 give the sums of the rounded
    inputs, in both GEMMs, with partial tiles in rows, columns and reduction."""
    tile = gpu_bench.TENSOR_CORE_CANDIDATES[candidate]
    x = rng.standard_normal((2, 20, 9, 11)).astype(np.float32)
    w = rng.standard_normal((70, 20, 3, 3)).astype(np.float32)
    g = rng.standard_normal((2, 70, 9, 11)).astype(np.float32)
    launched = []

    def calls(backend: Backend) -> list:
        backend.tensor_cores = "tf32"
        with K.tensor_core_tile(tile):
            outputs = [backend.correlate(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
                       backend.correlate_weight_grad(x, g, (1, 1), ((1, 1), (1, 1)), (1, 1), 1,
                                                     (3, 3))]
        launched.extend(entry.kernel.name for entry in getattr(backend.device, "launches", []))
        return outputs

    y, dw = twice(emulator, calls)
    rx, rw, rg = (ROUNDING["tf32"](a).astype(np.float64) for a in (x, w, g))
    close(y, reference.conv(rx, rw, padding=1), np.float32)
    close(dw, reference.conv_weight_grad(rx, w.shape, rg, padding=1), np.float32)
    gemms = [name for name in launched if "_tf32_" in name]
    assert len(gemms) == 2 and all(name.removesuffix("_i32").endswith(tile.tag)
                                   for name in gemms)
    assert K.TENSOR_CORE_TILE == gpu_bench.TENSOR_CORE_CANDIDATES["64x64, 4 warps"]  # restored


@pytest.mark.parametrize("tile, message", [
    (skeleton.Tile(48, 64, 16, 4, 8), r"warps of 32 x 32 outputs.*Tile\(bm=48"),
    # 192 threads: the weight gradient's 16 x 64 columns would leave 64 of them unloaded
    (skeleton.Tile(96, 64, 16, 4, 8), r"bm=96.*do not divide among its 192 threads"),
    (skeleton.Tile(32, 32, 16, 4, 8), r"32 threads do not cut a 16-deep tile"),
])
def test_a_tensor_core_tile_must_divide_its_loads(tile, message):
    with pytest.raises(ValueError, match=message):
        with K.tensor_core_tile(tile):
            pass


def test_tile_table_is_restored_after_an_error():
    with pytest.raises(RuntimeError), tile_table(()):
        assert skeleton.TILES == ()
        raise RuntimeError
    assert skeleton.TILES == K.TILES


BENCH_LAYERS = [layer for layer in gpu_bench.gpu_layers() if isinstance(layer, ConvLayer)]


@pytest.mark.slow
@pytest.mark.parametrize("layer", BENCH_LAYERS, ids=[layer.name for layer in BENCH_LAYERS])
def test_the_gpu_bench_kernels_on_their_layers_geometry(emulator, rng, layer):
    """The kernels that ``convproof bench --gpu`` and the tile tables build for a layer (its
    kernel, stride, padding, dilation, groups and channels; one sample of at most 9 x 9):
    every pass of the bench matches the reference, on tensor cores (groups of 16 or more
    filters, and for the weight gradient 16 or more columns) the reference on the rounded
    operands."""
    small = dataclasses.replace(layer, batch=1, size=min(layer.size, 9))
    x, w, g = small.arrays(rng)
    options, spec = small.options(), small.spec
    filters = spec.out_channels // spec.groups
    columns = spec.in_channels // spec.groups * math.prod(spec.kernel_size)

    def forward(x, w, g):
        return reference.conv(x, w, **options)

    def input_grad(x, w, g):
        return reference.conv_input_grad(x.shape, w, g, **options)

    def weight_grad(x, w, g):
        return reference.conv_weight_grad(x, w.shape, g, **options)

    def under(table):
        def call(backend: Backend):
            with tile_table(table):  # a fresh backend: its kernels built under the table
                return Backend(backend.device).correlate(x, w, spec.stride, spec.padding,
                                                         spec.dilation, spec.groups)
        return call

    # (precision allowed, whether the GEMMs run on tensor cores, the call, its definition)
    passes = [(precision, precision is not None and filters >= 16,
               lambda backend: functional.conv2d(x, w, **options), forward)
              for precision in (None, *K.TENSOR_CORE_PRECISIONS)]
    passes.append((None, False, lambda backend: functional.conv2d_input(x.shape, w, g, **options),
                   input_grad))
    passes += [(precision, precision is not None and min(filters, columns) >= 16,
                lambda backend: functional.conv2d_weight(x, w.shape, g, **options), weight_grad)
               for precision in (None, "tf32")]
    passes += [(None, False, under(table), forward)
               for table in gpu_bench.TILE_CANDIDATES.values()]
    launched: list[list[str]] = []

    def calls() -> list:
        backend = functional._backend({"x": x})
        outputs = []
        for precision, _, call, _ in passes:
            before = len(getattr(backend.device, "launches", []))
            backend.tensor_cores = precision
            outputs.append(call(backend))
            backend.tensor_cores = None
            launched.append([entry.kernel.name for entry in
                             getattr(backend.device, "launches", [])[before:]])
        return outputs

    outputs = on_emulator(emulator, calls)
    for (precision, on_tensor_cores, _, definition), actual, names in zip(
            passes, outputs, launched[:len(passes)], strict=True):  # the recording run's names
        gemms = [name for name in names if "_fwd_" in name or "_bwd_weight_" in name]
        assert any(f"_{precision}_" in name for name in gemms) == on_tensor_cores, names
        rounding = ROUNDING[precision] if on_tensor_cores else lambda a: a.astype(np.float64)
        operands = [rounding(a) for a in (x, w, g)]
        close(actual, definition(*operands), np.float32, magnitude(definition, *operands))


@pytest.mark.parametrize("window, dims", [(46_342, 2), (65_536, 2), (1_291, 3), (2**21 + 1, 3)])
def test_the_divisor_of_a_huge_padded_window(emulator, window, dims):
    """count_include_pad divides by k^dims for a window padded around one pixel: the
    product wrapped an int (46,342², 1,291³; 65,536² to 0) and a long long (2,097,153³)."""
    rng = np.random.default_rng()
    x = rng.uniform(1, 2, (1, 1) + (1,) * dims).astype(np.float64)
    pool = PoolSpec((window,) * dims, padding=(window // 2,) * dims)
    g = rng.uniform(1, 2, x.shape)
    y, dx = twice(emulator, lambda b: [b.avg_pool(x, pool, True),
                                       b.avg_pool_backward(g, pool, True, x.shape[2:])])
    assert y.shape == x.shape
    np.testing.assert_allclose(y, x / float(window) ** dims, rtol=1e-15)
    np.testing.assert_allclose(dx, g / float(window) ** dims, rtol=1e-15)
