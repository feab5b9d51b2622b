"""CPU emulation of the exact kernel sources against the float64 reference.

Every kernel of the standard set runs on fresh random inputs (relative error below 1e-12 in
float64, 1e-5 in float32), and again with one block per elementwise launch (its grid-stride
loops take a step for every block's worth of outputs).  The emulator itself is tested too: a
kernel that reads shared memory before the barrier that protects it gives a wrong result, as
do a race between two barriers, an unwritten shared entry and an accumulator never zeroed; a
barrier that not every thread reaches and a write outside an array (a NaN from another
array's guard too) raise, an output a kernel forgets stays NaN.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from convproof import reference
from convproof.codegen import kernels as K
from convproof.gpu import emulate, launch, standard
from convproof.gpu.backend import Backend
from convproof.gpu.emulate import EmulationError, Emulator, compiler_available
from convproof.gpu.launch import elementwise, gemm

pytestmark = pytest.mark.skipif(not compiler_available(), reason="no C++ compiler with OpenMP")

CASES = standard.standard_cases()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Emulator:
    """One emulator for the module, every standard kernel compiled up front."""
    made = Emulator(tmp_path_factory.mktemp("emulate"))
    made.prepare(kernel for case in CASES for kernel in standard.kernels_of(case))
    return made


@pytest.mark.parametrize("case", CASES, ids=standard.names_of)
def test_standard_kernel_matches_the_reference(case, emulator, rng):
    outcome = standard.check(case, emulator, rng)
    assert outcome.ok, f"{case.describe()}: relative error {outcome.max_rel_err:.3g}"


@pytest.mark.parametrize("case", CASES, ids=standard.names_of)
def test_grid_stride_loops_cover_every_output(case, emulator, rng, monkeypatch):
    """With one block an elementwise launch's threads take a step of their grid stride for
    every block's worth of outputs (a GPU's cap of ELEMENTWISE_BLOCKS is reached only by
    arrays of 2^28 entries)."""
    monkeypatch.setattr(launch, "ELEMENTWISE_BLOCKS", 1)
    outcome = standard.check(case, emulator, rng)
    assert outcome.ok, f"{case.describe()}: relative error {outcome.max_rel_err:.3g}"


def test_a_case_that_launches_nothing_or_drops_an_output_fails(emulator, rng, monkeypatch):
    """zip() stopped at the shorter list: a run returning nothing compared nothing, 'ok'."""
    case = CASES[0]
    op = standard.OPS[case.op]
    for run in (lambda backend, case, arrays: [],
                lambda backend, case, arrays: op.run(backend, case, arrays)[:-1]):
        monkeypatch.setitem(standard.OPS, case.op, dataclasses.replace(op, run=run))
        assert not standard.check(case, emulator, rng).ok


def test_gemm_tiles_span_rows_columns_and_groups(emulator, rng):
    """rows 2 * 9 * 8 = 144 (three 64-row tiles), 70 columns per group (two 64-wide tiles)."""
    x, w, b = (rng.standard_normal(shape) for shape in ((2, 4, 9, 8), (140, 2, 3, 3), (140,)))
    geometry = K.ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 2, dtype=np.float64)
    y = Backend(emulator).conv(x, w, geometry, bias=b, activation="relu")
    expected = np.maximum(reference.conv(x, w, b, padding=1, groups=2), 0)
    assert standard.relative_error(y, expected) < 1e-12


@pytest.mark.parametrize("shapes, kernels", [
    (((2, 3, 7, 6), (2, 4, 3, 3)), ["conv2d_bwd_weight_k3x3_s2_plo1_phi0x1_d1_g1_f32_i32"]),
    (((4, 4, 40, 30), (4, 20, 20, 15)),
     ["conv2d_bwd_weight_k3x3_s2_plo1_phi0x1_d1_g1_f32_t64x64_i32", "sum_splits_f32_i32"]),
], ids=["one-block-per-pair", "split-gemm"])
def test_weight_gradient_is_bitwise_repeatable(emulator, rng, shapes, kernels):
    """4 filters: one block per (filter, channel) pair; 20 filters, 4 x 300 terms: the GEMM in
    2 runs."""
    x, g = (rng.standard_normal(shape).astype(np.float32) for shape in shapes)
    geometry = K.ConvGeometry((3, 3), (2, 2), ((1, 0), (1, 1)), (1, 1), 1, dtype=np.float32)
    recorder = standard.Recorder(emulator)
    first = Backend(recorder).conv_weight_grad(x, g, geometry)
    assert [entry.kernel.name for entry in recorder.launches] == kernels
    again = Backend(emulator).conv_weight_grad(x, g, geometry)
    assert first.tobytes() == again.tobytes()
    expected = reference.conv_weight_grad(x.astype(np.float64), (g.shape[1], x.shape[1], 3, 3),
                                          g.astype(np.float64), stride=2, padding=((1, 0), (1, 1)))
    assert standard.relative_error(first, expected) < 1e-5


@pytest.mark.parametrize("kernel_size, stride, mode, dtype", [
    ((5, 5), (2, 1), "circular", np.float32),   # 25 taps: two chunks of 13, the last ragged
    ((3,), (1,), "zeros", np.float64),
    ((2, 3, 3), (1, 2, 1), "reflect", np.float32),
], ids=["2d-two-chunks", "1d", "3d"])
def test_the_narrow_weight_gradient_sums_every_tap_of_every_run(emulator, rng, kernel_size,
                                                                stride, mode, dtype):
    """Depthwise, 6 channels: one block per channel and chunk of taps, the 1,040-1,296 terms in
    2 runs added by sum_splits; against the reference and bitwise equal on a rerun."""
    dims = len(kernel_size)
    size = {1: (3, 6, 410), 2: (2, 6, 40, 26), 3: (2, 6, 9, 17, 8)}[dims]
    padding = tuple((k // 2, (k - 1) // 2) for k in kernel_size)
    geometry = K.ConvGeometry(kernel_size, stride, padding, (1,) * dims, 6, mode, dtype=dtype)
    x = rng.standard_normal(size).astype(dtype)
    expected_shape = reference.conv(x, np.ones((6, 1, *kernel_size)), stride=stride,
                                    padding=padding, groups=6, padding_mode=mode).shape
    g = rng.standard_normal(expected_shape).astype(dtype)
    assert 2 * 512 <= g.size // 6 < 3 * 512  # terms a channel: two runs of at least 512
    recorder = standard.Recorder(emulator)
    first = Backend(recorder).conv_weight_grad(x, g, geometry)
    names = [entry.kernel.name for entry in recorder.launches]
    assert names[0].startswith(f"conv{dims}d_bwd_weight_") and "_t64x64" not in names[0]
    assert names[1:] == [f"sum_splits_{'f32' if dtype == np.float32 else 'f64'}_i32"]
    assert recorder.launches[0].grid == (6, K.tap_chunks(math.prod(kernel_size))[0], 2)
    again = Backend(emulator).conv_weight_grad(x, g, geometry)
    assert first.tobytes() == again.tobytes()
    expected = reference.conv_weight_grad(x.astype(np.float64), (6, 1, *kernel_size),
                                          g.astype(np.float64), stride=stride, padding=padding,
                                          groups=6, padding_mode=mode)
    assert standard.relative_error(first, expected) < (1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("splits", [1, 2, 3, 7])
def test_each_split_of_the_weight_gemm_sums_its_own_run(emulator, rng, splits):
    """3 x 19 terms: with 7 splits of 16 terms the last three runs are empty and hold zeros;
    the runs add up to the gradient (17 filters, 5 x 3 columns: partial tiles)."""
    geometry = K.ConvGeometry((3,), (2,), ((1, 0),), (2,), 1, "replicate", dtype=np.float64)
    kernel = K.conv_backward_weight_gemm(geometry)
    x, g = rng.standard_normal((3, 5, 40)), rng.standard_normal((3, 17, 19))
    partial = np.full((splits, 17, 5, 3), np.nan)
    emulator.run(gemm(kernel, 17, 15, splits, [x, g, partial, 3, 5, 17, 40, 19, splits]))
    expected = reference.conv_weight_grad(x, (17, 5, 3), g, stride=2, padding=((1, 0),),
                                          dilation=2, padding_mode="replicate")
    assert standard.relative_error(partial.sum(axis=0), expected) < 1e-12
    if splits == 7:
        assert not partial[4:].any() and partial[3].any()


@pytest.mark.parametrize("splits", [1, 2, 3, 5])
def test_a_forward_split_in_runs_adds_them_before_the_epilogue(emulator, rng, splits,
                                                               monkeypatch):
    """C_in/G x taps = 15 x 9 = 135 terms in runs of whole 16-term stages (tile 128 x 32),
    bias + relu applied once to the sum of the runs."""
    monkeypatch.setattr(launch, "splits_for", lambda *shape: splits)
    x, w, b = (rng.standard_normal(shape) for shape in ((2, 30, 5, 4), (36, 15, 3, 3), (36,)))
    geometry = K.ConvGeometry((3, 3), (1, 1), ((1, 0), (1, 1)), (1, 1), 2, dtype=np.float64)
    recorder = standard.Recorder(emulator)
    y = Backend(recorder).conv(x, w, geometry, bias=b, activation="relu")
    names = [entry.kernel.name for entry in recorder.launches]
    assert names[1:] == (["sum_splits_bias_relu_f64_i32"] if splits > 1 else [])
    expected = np.maximum(reference.conv(x, w, b, padding=((1, 0), (1, 1)), groups=2), 0)
    assert standard.relative_error(y, expected) < 1e-12


@pytest.mark.parametrize("tensor_cores", [None, "tf32"])
def test_arrays_past_the_32_bit_bound_take_the_64_bit_kernels(emulator, rng, monkeypatch,
                                                              tensor_cores):
    """Forward (split in 2 runs), data and weight gradients of a strided 3x3: with every array
    within INDEX32_ELEMENTS the 32-bit variants run; with the bound below the arrays, or the
    backend's index32 off, the 64-bit kernels; all give the same bits."""
    monkeypatch.setattr(launch, "splits_for", lambda *shape: 2)
    x, w = (rng.standard_normal(s).astype(np.float32) for s in ((2, 20, 9, 8), (24, 20, 3, 3)))
    geometry = K.ConvGeometry((3, 3), (2, 2), ((1, 1), (1, 0)), (1, 1), 1, dtype=np.float32)
    results, names = [], []
    for bound, index32 in [(K.INDEX32_ELEMENTS, True), (100, True), (K.INDEX32_ELEMENTS, False)]:
        monkeypatch.setattr(K, "INDEX32_ELEMENTS", bound)  # 100: below every array
        recorder = standard.Recorder(emulator)
        backend = Backend(recorder)
        backend.index32 = index32
        y = backend.conv(x, w, geometry, tensor_cores=tensor_cores)
        results.append([y, backend.conv_data_grad(y, w, geometry, x.shape[2:],
                                                  tensor_cores=tensor_cores),
                        backend.conv_weight_grad(x, y, geometry, tensor_cores=tensor_cores)])
        names.append([entry.kernel.name for entry in recorder.launches])
    assert names[0] and all(name.endswith("_i32") for name in names[0]), names[0]
    assert [f"{name}_i32" for name in names[1]] == names[0] and names[2] == names[1]
    for narrow, *wide in zip(*results):
        assert all(narrow.tobytes() == other.tobytes() for other in wide)
    expected = reference.conv(x.astype(np.float64), w, stride=2, padding=((1, 1), (1, 0)))
    assert standard.relative_error(results[0][0], expected) < (1e-5 if tensor_cores is None
                                                               else 5e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_takes_the_32_bit_variants_within_their_bounds(emulator, rng, monkeypatch,
                                                               dtype):
    """Average, max and adaptive pooling, both ways (max pooling's backward with and without
    the spec), run their 32-bit variants (the same bits and indices as the 64-bit kernels);
    adaptive windows compute o·t and n·(i + 1), so their bound counts (o + 1)(n + 1) per axis
    too, here above the bound while the arrays are below it."""
    from convproof.spec import PoolSpec
    x = rng.standard_normal((1, 1, 9, 1)).astype(dtype)  # a column: adaptive products exceed
    spec = PoolSpec((3, 1), (2, 1), (1, 0), ceil_mode=True)

    def run(backend: Backend) -> list:
        y = backend.avg_pool(x, spec, False)
        m, index = backend.max_pool(x, spec)
        z = backend.adaptive_avg_pool(x, (1, 9))
        a, where = backend.adaptive_max_pool(x, (1, 9))
        return [y, m, index, z, a, where, backend.avg_pool_backward(y, spec, False, (9, 1)),
                backend.max_pool_backward(m, index, (9, 1), spec),
                backend.max_pool_backward(m, index, (9, 1)),
                backend.adaptive_avg_pool_backward(z, (9, 1)),
                backend.adaptive_max_pool_backward(a, where, (9, 1))]

    results, names = [], []
    for bound, index32 in [(K.INDEX32_ELEMENTS, True), (K.INDEX32_ELEMENTS, False), (15, True)]:
        monkeypatch.setattr(K, "INDEX32_ELEMENTS", bound)  # 15: above every array, below 20
        recorder = standard.Recorder(emulator)
        backend = Backend(recorder)
        backend.index32 = index32
        results.append(run(backend))
        names.append([entry.kernel.name for entry in recorder.launches])
    assert all(name.endswith("_i32") for name in names[0]) and not any(
        name.endswith("_i32") for name in names[1])
    adaptive = [name.startswith("adaptive") for name in names[2]]
    assert [name.endswith("_i32") for name in names[2]] == [not a for a in adaptive]
    for narrow, *wide in zip(*results):
        assert all(narrow.tobytes() == other.tobytes() for other in wide)
    expected_y, expected_index = reference.max_pool(x.astype(np.float64), (3, 1), (2, 1), (1, 0),
                                                    ceil_mode=True)
    assert np.array_equal(results[0][1], expected_y) and np.array_equal(results[0][2],
                                                                        expected_index)
    magnitude = reference.adaptive_avg_pool(np.abs(x).astype(np.float64), (1, 9)).max()
    assert standard.relative_error(results[0][3], reference.adaptive_avg_pool(x, (1, 9)),
                                   magnitude) < 1e-6  # the means of |x|: a sum can cancel


def test_the_32_bit_variant_renames_the_index_type():
    """Every long long of a conv kernel becomes int, its scalar parameters included; max
    pooling's index arrays keep their 64-bit elements."""
    geometry = K.ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, dtype=np.float32)
    wide = K.conv_forward(geometry, 64)
    narrow = K.narrow_indices(wide)
    assert narrow.name == f"{wide.name}_i32" and "long long" not in narrow.source
    assert f"void __launch_bounds__(256) {narrow.name}(" in narrow.source
    assert [p.ctype for p in narrow.params if not p.pointer] == ["int"] * 8
    pool = K.narrow_indices(K.max_pool_forward(K.PoolGeometry((2, 2), (2, 2), (0, 0), (1, 1),
                                                              dtype=np.float64)))
    assert "long long* __restrict__ index" in pool.source
    assert pool.source.count("long long") == pool.source.count("long long* __restrict__")
    assert [p.ctype for p in pool.params] == ["const double*", "double*", "long long*"] + [
        "int"] * 5


def test_a_size_beyond_an_int_parameter_is_refused(emulator):
    kernel = K.narrow_indices(_tiny("sized", "    y[0] = 0;"))
    with pytest.raises(OverflowError, match="argument count = 2147483648 does not fit int"):
        emulator.run(elementwise(kernel, 1, [np.zeros(4, np.float32), 2**31]))


def _conv_launch(kernel: K.Kernel, rng: np.random.Generator):
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((4, 2, 3, 3))
    y = np.full((1, 4, 5, 5), np.nan)
    return gemm(kernel, 25, 4, 1, [x, w, y, 1, 2, 4, 5, 5, 5, 5, 1]), x, w, y


ROUNDED = {"tf32": "cp_bits_value(cp_tf32(x[e]))", "bf16": "cp_bf16_value(cp_bf16x2(x[e], 0))",
           "fp16": "cp_fp16_value(cp_fp16x2(x[e], 0))"}


@pytest.mark.parametrize("precision", sorted(ROUNDED))
def test_the_shims_roundings_are_those_of_the_reference(emulator, rng, precision):
    """The emulator's cvt (the shim's cp_tf32, cp_bf16x2, cp_fp16x2) and its reading of the
    rounded bits give standard.ROUNDING's values, bit for bit: on numbers of every scale from
    1e-9 to 1e6, on exact ties between neighbours of the precision (exponents -14 to 14), at
    the edges of float16's range, and on zeros, infinities and NaN."""
    source = ("extern \"C\" __global__ void rounded_" + precision +
              "(const float* __restrict__ x, float* __restrict__ y, long long n)\n{\n"
              "    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;\n"
              "         e += (long long)gridDim.x * blockDim.x)\n"
              f"        y[e] = {ROUNDED[precision]};\n}}\n")
    kernel = K.Kernel(f"rounded_{precision}", source, (
        K.Param("x", "const float*"), K.Param("y", "float*"), K.Param("n", "long long")), 256, ())
    keep = {"tf32": 10, "bf16": 7, "fp16": 10}[precision]  # mantissa bits
    # 1.m_1..m_keep 1 x 2^e, halfway between two neighbours of the precision
    significands = rng.integers(2**keep, 2**(keep + 1), 4000)
    ties = (2 * significands + 1) * np.exp2(rng.integers(-14, 15, 4000) - keep - 1.0)
    values = np.concatenate([
        rng.standard_normal(4000) * 10.0 ** rng.integers(-9, 7, 4000), ties, -ties,
        [0.0, -0.0, np.inf, -np.inf, np.nan, 65504, 65519, 65520, -70000, 2**-24, 2**-25,
         3 * 2**-26, 2**-14 - 2**-25]]).astype(np.float32)
    y = np.full(values.shape, np.nan, np.float32)
    emulator.run(elementwise(kernel, values.size, [values, y, values.size]))
    np.testing.assert_array_equal(y, standard.ROUNDING[precision](values).astype(np.float32))


def test_a_missing_barrier_gives_a_wrong_result(emulator, rng):
    """Without the barrier after the tile loads, threads read tiles others have not written."""
    kernel = K.conv_forward(K.ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1),
                                           dtype=np.float64), 4)
    launch, x, w, y = _conv_launch(kernel, rng)
    emulator.run(launch)
    assert standard.relative_error(y, reference.conv(x, w, padding=1)) < 1e-12
    racy = dataclasses.replace(kernel, name=kernel.name + "_racy",
                               source=kernel.source.replace("__syncthreads();", "", 1)
                               .replace(kernel.name, kernel.name + "_racy"))
    launch, x, w, y = _conv_launch(racy, rng)
    emulator.run(launch)
    assert standard.relative_error(np.nan_to_num(y), reference.conv(x, w, padding=1)) > 1e-3


def _tiny(name: str, body: str, threads: int = 64) -> K.Kernel:
    source = (f'extern "C" __global__ void {name}(float* __restrict__ y, long long count) {{\n'
              f"{body}\n}}\n")
    return K.Kernel(name, source, (K.Param("y", "float*"), K.Param("count", "long long")),
                    threads, ())


def test_a_barrier_not_every_thread_reaches_is_an_error(emulator):
    kernel = _tiny("divergent", "    if (threadIdx.x == 0) return;\n    __syncthreads();\n"
                   "    y[threadIdx.x] = 1;")
    with pytest.raises(EmulationError, match="did not all reach the same __syncthreads"):
        emulator.run(elementwise(kernel, 64, [np.zeros(64, np.float32), 64]))


def test_a_write_outside_an_array_is_an_error(emulator):
    kernel = _tiny("overrun", "    const long long e = (long long)blockIdx.x * blockDim.x"
                   " + threadIdx.x;\n    if (e < count) y[e + 1] = 2;")
    with pytest.raises(EmulationError, match="overrun wrote outside the array y"):
        emulator.run(elementwise(kernel, 64, [np.zeros(64, np.float32), 64]))


def test_an_output_a_kernel_forgets_stays_nan(emulator, rng):
    kernel = _tiny("half_done", "    const long long e = (long long)blockIdx.x * blockDim.x"
                   " + threadIdx.x;\n    if (2 * e < count) y[e] = 3;")
    y = emulator.empty((64,), np.float32)
    emulator.run(elementwise(kernel, 64, [y, 64]))
    assert np.isnan(y[32:]).all() and (y[:32] == 3).all()
    assert standard.relative_error(y, np.full(64, 3.0)) == float("inf")


def _two_arrays(name: str, body: str, threads: int = 64) -> K.Kernel:
    source = (f'extern "C" __global__ void {name}(const float* __restrict__ x, '
              f"float* __restrict__ y, long long count) {{\n{body}\n}}\n")
    return K.Kernel(name, source, (K.Param("x", "const float*"), K.Param("y", "float*"),
                                   K.Param("count", "long long")), threads, ())


def test_an_unwritten_shared_entry_reads_nan(emulator):
    """Shared memory holds NaN until written, in every block (not what an earlier block left)."""
    kernel = _tiny("unwritten", "    __shared__ float s[64];\n    if (threadIdx.x == 0) s[0] = 1;\n"
                   "    __syncthreads();\n    s[threadIdx.x] += 0;\n    __syncthreads();\n"
                   "    y[blockIdx.x * 64 + threadIdx.x] = s[threadIdx.x];")
    y = emulator.empty((128,), np.float32)
    emulator.run(elementwise(kernel, 128, [y, 128]))
    assert (y[::64] == 1).all() and np.isnan(np.delete(y, [0, 64])).all()


def test_a_race_between_barriers_shows_as_blocks_that_differ(emulator):
    """Every thread writes s[0] before the barrier: the last writer wins, and every other
    block runs its threads backwards, so a race gives blocks different results."""
    kernel = _tiny("racing", "    __shared__ float s[1];\n    s[0] = threadIdx.x;\n"
                   "    __syncthreads();\n    if (threadIdx.x == 0) y[blockIdx.x] = s[0];")
    y = emulator.empty((2,), np.float32)
    emulator.run(elementwise(kernel, 128, [y, 2]))
    assert y.tolist() == [63, 0]


@pytest.mark.skipif(emulate.POISON_LOCALS not in emulate.flags(),
                    reason="the compiler does not poison local variables")
def test_an_accumulator_never_zeroed_gives_a_wrong_sum(emulator):
    kernel = _tiny("unzeroed", "    float total;\n    for (int k = 0; k < 4; ++k) total += 1;\n"
                   "    y[blockIdx.x * 64 + threadIdx.x] = total;")
    y = emulator.empty((64,), np.float32)
    emulator.run(elementwise(kernel, 64, [y, 64]))
    assert not (y == 4).any()


def test_a_nan_brought_from_another_array_into_a_guard_is_an_error(emulator):
    """One thread too many reads past x into its guard and writes the NaN past y: the guards'
    NaNs differ in their payload, so the write shows."""
    kernel = _two_arrays("one_too_many", "    const long long e = (long long)blockIdx.x * "
                         "blockDim.x + threadIdx.x;\n    if (e <= count) y[e] = x[e] + 1;")
    x = np.ones(63, np.float32)
    with pytest.raises(EmulationError, match="one_too_many wrote outside the array y"):
        emulator.run(elementwise(kernel, 64, [x, np.zeros(63, np.float32), 63]))


def test_arguments_must_match_the_parameter_types(emulator):
    kernel = _tiny("typed", "    y[0] = 0;")
    with pytest.raises(TypeError, match="argument y must be a NumPy array of float32, got float64"):
        emulator.run(elementwise(kernel, 1, [np.zeros(4), 4]))
