"""Kernel skeletons: names, provenance, the theorems' expressions in the source, refusals.

The point of the project: a kernel prints the expressions the theorems export.  Changing an
exported expression (monkeypatching a theorem's ``expressions`` dict) changes the emitted
source, and a wrong expression gives a kernel that the emulation catches.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
import re

import numpy as np
import pytest
import sympy

from convproof import reference
from convproof.codegen import derivations as dv
from convproof.codegen import kernels as K
from convproof.codegen import winograd as W
from convproof.codegen.pooling import ADAPTIVE_FIRST, ADAPTIVE_WINDOW
from convproof.gpu.backend import Backend
from convproof.gpu.emulate import Emulator, compiler_available
from convproof.gpu.standard import relative_error, standard_kernels
from convproof.spec import adaptive_windows
from convproof.symbolic import load

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
SAME3 = K.ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
STRIDED = K.ConvGeometry((3, 2), (2, 1), ((1, 0), (1, 1)), (1, 2), 2, "reflect", F64)
emulation = pytest.mark.skipif(not compiler_available(), reason="no C++ compiler")


@pytest.mark.parametrize("kernel, name", [
    (lambda: K.conv_forward(SAME3, 64), "conv2d_fwd_k3x3_s1_p1_d1_g1_f32_t64x64"),
    (lambda: K.conv_forward(STRIDED, 3, bias=True, activation="relu"),
     "conv2d_fwd_k3x2_s2x1_plo1_phi0x1_d1x2_g2_reflect_bias_relu_f64_t256x4"),
    (lambda: K.conv_forward(SAME3, 20, flip=True), "convolve2d_fwd_k3x3_s1_p1_d1_g1_f32_t128x32"),
    (lambda: K.conv_forward(SAME3, 20, bias=True, tensor_cores="tf32"),
     "conv2d_fwd_k3x3_s1_p1_d1_g1_bias_f32_tf32_t64x64"),
    (lambda: K.conv_forward(SAME3, 20, flip=True, tensor_cores="bf16"),
     "convolve2d_fwd_k3x3_s1_p1_d1_g1_f32_bf16_t64x64"),
    (lambda: K.conv_forward(SAME3, 20, tensor_cores="fp16"),
     "conv2d_fwd_k3x3_s1_p1_d1_g1_f32_fp16_t64x64"),
    (lambda: K.conv_forward_direct(STRIDED, bias=True, flip=True),
     "convolve2d_fwd_k3x2_s2x1_plo1_phi0x1_d1x2_g2_reflect_bias_f64_direct"),
    (lambda: K.conv_backward_data(STRIDED),
     "conv2d_bwd_data_k3x2_s2x1_plo1_phi0x1_d1x2_g2_reflect_f64"),
    (lambda: K.conv_backward_data(SAME3, transposed=True, bias=True),
     "conv_transpose2d_k3x3_s1_p1_d1_g1_bias_f32"),
    (lambda: K.conv_backward_weight(SAME3), "conv2d_bwd_weight_k3x3_s1_p1_d1_g1_f32"),
    (lambda: K.conv_backward_weight_gemm(STRIDED),
     "conv2d_bwd_weight_k3x2_s2x1_plo1_phi0x1_d1x2_g2_reflect_f64_t64x64"),
    (lambda: K.conv_backward_weight_gemm(SAME3, tensor_cores="bf16"),
     "conv2d_bwd_weight_k3x3_s1_p1_d1_g1_f32_bf16_t64x64"),
    (lambda: K.sum_splits(F64), "sum_splits_f64"),
    (lambda: K.max_pool_forward(K.PoolGeometry((3, 3), (2, 2), (1, 1), (1, 1))),
     "max_pool2d_fwd_k3x3_s2_p1_d1_f32"),
    (lambda: K.avg_pool_backward(K.PoolGeometry((3,), (2,), (1,), (1,), F64), False),
     "avg_pool1d_bwd_k3_s2_p1_d1_nocip_f64"),
    (lambda: K.pad_adjoint(((1, 2), (0, 0)), "circular", F32),
     "pad2d_adjoint_circular_plo1x0_phi2x0_f32"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_names_encode_every_static_parameter(kernel, name):
    made = kernel()
    assert made.name == name
    assert 'extern "C" __global__ void ' in made.source and f" {name}(" in made.source


def test_standard_kernels_have_unique_names_and_no_warp_intrinsics():
    kernels = standard_kernels()
    assert len({k.name for k in kernels}) == len(kernels)
    for kernel in kernels:
        assert "__shfl" not in kernel.source and "atomic" not in kernel.source, kernel.name


@pytest.mark.parametrize("build", [
    lambda geometry, precision: K.conv_forward(geometry, 3, tensor_cores=precision),
    lambda geometry, precision: K.conv_backward_weight_gemm(geometry, tensor_cores=precision)])
def test_tensor_cores_need_float32_and_a_known_precision(build):
    with pytest.raises(ValueError, match="tensor_cores='tf32' needs float32 arrays, got float64"):
        build(STRIDED, "tf32")
    with pytest.raises(ValueError, match="tensor_cores must be None or one of .* got 'fp8'"):
        build(SAME3, "fp8")


@pytest.mark.parametrize("rounding, cases", [
    ("tf32", [(1 + 2**-11, 1 + 2**-10), (-(1 + 2**-11), -(1 + 2**-10)),  # ties away from zero
              (1 + 2**-11 - 2**-23, 1), (1 + 3 * 2**-11, 1 + 2**-9)]),
    ("bf16", [(1 + 2**-8, 1), (-(1 + 3 * 2**-8), -(1 + 2**-6)),  # ties to even
              (1 + 2**-8 + 2**-23, 1 + 2**-7), (1 + 2**-9, 1)]),
    ("fp16", [(1 + 2**-11, 1), (-(1 + 3 * 2**-11), -(1 + 2**-9)),  # ties to even
              (65504, 65504), (65519, 65504), (65520, np.inf), (-1e6, -np.inf),  # the range
              (3 * 2**-26, 2**-24), (2**-25, 0), (2**-14 + 2**-25, 2**-14)]),  # subnormals
])
def test_rounding_to_a_tensor_core_precision(rounding, cases):
    from convproof.gpu.standard import ROUNDING

    values, expected = zip(*cases, (3.0, 3.0), (np.inf, np.inf), (-np.inf, -np.inf),
                           (np.nan, np.nan))
    np.testing.assert_array_equal(ROUNDING[rounding](np.array(values, np.float32)), expected)


@pytest.mark.parametrize("precision", ["tf32", "bf16", "fp16"])
def test_allowing_tensor_cores_changes_only_the_float32_gemms_of_wide_groups(precision):
    """Allowed, with 16 channels a group: the forward, the input gradient (stride 1: one
    phase; stride 2: four) and the weight gradient.  Not: a forward with 15 filters, the
    weight gradient of 15 filters (one block per filter and channel), the gather (reflect
    padding, folded into the input gradient), float64."""
    from convproof.gpu.standard import Recorder

    backend = Backend(Recorder())
    backend.tensor_cores = precision
    pads = ((1, 1), (1, 1))
    for dtype, allowed in ((np.float32, True), (np.float64, False)):
        x, w = np.ones((1, 16, 5, 5), dtype), np.ones((16, 16, 3, 3), dtype)
        g, strided = np.ones((1, 16, 5, 5), dtype), np.ones((1, 16, 3, 3), dtype)
        backend.correlate(x, w, (1, 1), pads, (1, 1), 1)
        backend.correlate_input_grad(g, w, (1, 1), pads, (1, 1), 1, (5, 5))
        backend.correlate_input_grad(strided, w, (2, 2), pads, (1, 1), 1, (5, 5))
        backend.correlate_weight_grad(x, g, (1, 1), pads, (1, 1), 1, (3, 3))
        backend.correlate(x, w[:15], (1, 1), pads, (1, 1), 1)
        backend.correlate_weight_grad(x, g[:, :15], (1, 1), pads, (1, 1), 1, (3, 3))
        reflect = K.ConvGeometry((3, 3), (1, 1), pads, (1, 1), mode="reflect", dtype=dtype)
        backend.conv_data_grad(g, w, reflect, (5, 5), tensor_cores=backend._allowed(dtype, 16))
        names = [launch.kernel.name for launch in backend.device.launches[-10:]]
        tagged = [f"_{precision}_" in name for name in names]
        assert tagged == [allowed] * 7 + [False] * 3, names


def test_narrow_groups_take_the_direct_forward():
    """At most 4 input and 4 output channels a group (depthwise): one thread per output.
    Wider groups, and tensor cores asked for by name, take the GEMM."""
    from convproof.gpu.standard import Recorder

    backend = Backend(Recorder())
    geometry = K.ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 8)
    for (c_in, c_out), tensor_cores, kind in [
            ((8, 8), None, "_direct"), ((32, 32), None, "_direct"), ((40, 32), None, "_t256x4"),
            ((32, 40), None, "_t256x16"), ((8, 8), "tf32", "_tf32_t64x64")]:
        x, w = np.ones((1, c_in, 5, 5), F32), np.ones((c_out, c_in // 8, 3, 3), F32)
        backend.conv(x, w, geometry, tensor_cores=tensor_cores)
        name = backend.device.launches[-1].kernel.name
        assert name.endswith(f"{kind}_i32"), (c_in, c_out)  # small arrays: 32-bit indices


def test_the_split_rule_aims_at_four_blocks_an_sm_with_512_terms_a_split():
    """splits = min(ceil(528 / blocks), floor(terms / 512)), at least 1; a GEMM's blocks are
    its tiles."""
    from convproof.gpu.launch import splits_for, tiles

    kernel = K.conv_backward_weight_gemm(SAME3)
    assert tiles(kernel, 64, 576, 1) == 9 and tiles(kernel, 64, 64, 600) == 600
    assert splits_for(9, 8 * 56 * 56) == 49      # 59 > 25088 // 512
    assert splits_for(9, 10**6) == 59            # ceil(528 / 9)
    assert splits_for(576, 8 * 7 * 7) == 1
    assert splits_for(1, 1023) == 1 and splits_for(1, 1024) == 2
    assert splits_for(600, 10**9) == 1
    assert splits_for(128, 64 * 56 * 56) == 5    # depthwise 128: 128 pairs, one chunk of taps
    with pytest.raises(ValueError, match="is not a tiled kernel"):
        tiles(K.sum_splits(F32), 64, 64, 1)


def test_the_taps_of_a_narrow_weight_gradient_come_in_chunks_of_at_most_16():
    assert [K.tap_chunks(taps) for taps in (1, 9, 16, 17, 25, 49, 343)] == [
        (1, 1), (1, 9), (1, 16), (2, 9), (2, 13), (4, 13), (22, 16)]


@pytest.mark.parametrize("precision, instructions", [
    ("tf32", ["mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32", "cvt.rna.tf32.f32"]),
    ("bf16", ["mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", "cvt.rn.bf16x2.f32"]),
    ("fp16", ["mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "cvt.rn.f16x2.f32"]),
])
def test_tensor_core_kernels_use_mma_and_no_other_warp_operation(precision, instructions):
    for kernel in (K.conv_forward(SAME3, 8, tensor_cores=precision),
                   K.conv_backward_weight_gemm(SAME3, tensor_cores=precision)):
        assert all(instruction in kernel.source for instruction in instructions)
        assert "__shfl" not in kernel.source


def test_source_begins_with_its_provenance():
    source = K.conv_backward_data(STRIDED).source
    first = source.splitlines()[:6]
    assert first[0].startswith("// conv2d_bwd_data_")
    provenance = "\n".join(first)
    for theorem, key, expr in [("grad-input-flip", "gather_numerator", "-d*m + j + p"),
                               ("grad-input-flip", "gather_index", "(-d*m + j + p)/s"),
                               ("reflect_source", "", "")]:
        assert theorem in provenance and key in provenance and expr in provenance
    forward = K.conv_forward(SAME3, 8, flip=True).source.splitlines()[:4]
    assert any("banded-matrix" in line and "input_index" in line for line in forward)
    assert any("flip-equivalence" in line and "k - m - 1" in line for line in forward)


def test_index_slots_are_printed_from_the_theorems():
    """Per axis, s·i + d·m - p with the static values: 2*i0 + m0 - 1 and i1 + 2*m1 - 1."""
    forward = K.conv_forward(STRIDED, 3).source
    assert "const long long j0 = 2*i0 + m0 - 1;" in forward
    assert "const long long j1 = i1 + 2*m1 - 1;" in forward
    backward = K.conv_backward_data(STRIDED).source
    assert "const long long num0 = -m0 + u0 + 1;" in backward
    assert "(cp_mod(num0, 2) == 0)" in backward and "const long long i0 = cp_floordiv(num0, 2);" \
        in backward
    for weight in (K.conv_backward_weight(STRIDED), K.conv_backward_weight_gemm(STRIDED)):
        assert "const long long j1 = i1 + 2*m1 - 1;" in weight.source


def _patched(monkeypatch, theorem: str, key: str, change) -> None:
    expressions = dict(load(theorem).expressions)
    expressions[key] = change(expressions[key])
    monkeypatch.setattr(load(theorem), "expressions", expressions)


def test_a_changed_expression_changes_the_kernel(monkeypatch):
    before = {"fwd": K.conv_forward(STRIDED, 3).source,
              "data": K.conv_backward_data(STRIDED).source,
              "weight": K.conv_backward_weight(STRIDED).source,
              "flip": K.conv_forward(SAME3, 8, flip=True).source}
    _patched(monkeypatch, "banded-matrix", "input_index", lambda e: e + 1)
    _patched(monkeypatch, "grad-input-flip", "gather_numerator", lambda e: e - 1)
    _patched(monkeypatch, "grad-weight", "input_index", lambda e: e - 2)
    _patched(monkeypatch, "flip-equivalence", "flipped_tap", lambda e: e.subs(
        next(s for s in e.free_symbols if s.name == "k"), 2))
    after = {"fwd": K.conv_forward(STRIDED, 3).source,
             "data": K.conv_backward_data(STRIDED).source,
             "weight": K.conv_backward_weight(STRIDED).source,
             "flip": K.conv_forward(SAME3, 8, flip=True).source}
    assert all(before[k] != after[k] for k in before)
    assert "const long long j0 = 2*i0 + m0;" in after["fwd"]
    assert "const long long num0 = -m0 + u0;" in after["data"]
    assert "const long long j1 = i1 + 2*m1 - 3;" in after["weight"]
    assert "d*m + i*s - p + 1" in after["fwd"].splitlines()[2]


@emulation
def test_a_wrong_expression_gives_a_kernel_that_emulation_catches(monkeypatch, rng, tmp_path):
    """The forward read off by one (the padding offset mutant) cannot pass the reference."""
    x, w = rng.standard_normal((1, 2, 6, 5)), rng.standard_normal((3, 2, 3, 3))
    expected = reference.conv(x, w, padding=1)
    same = K.ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), dtype=F64)
    assert relative_error(Backend(Emulator(tmp_path)).conv(x, w, same), expected) < 1e-12
    _patched(monkeypatch, "banded-matrix", "input_index", lambda e: e + 1)
    wrong = Backend(Emulator(tmp_path)).conv(x, w, same)
    assert relative_error(wrong, expected) > 0.1


def test_an_expression_with_a_symbol_the_kernel_lacks_is_refused(monkeypatch):
    q = sympy.Symbol("q", integer=True)
    _patched(monkeypatch, "banded-matrix", "input_index", lambda e: e + q)
    with pytest.raises(ValueError, match="uses q, which the kernel does not bind"):
        K.conv_forward(SAME3, 8)


def test_padding_maps_come_from_the_theorem_or_indexmaps():
    for mode in ("reflect", "replicate", "circular"):
        derived = dv.padding_source(mode)
        assert derived.source in ("padding-adjoint", "indexmaps")
        assert derived.key == f"{mode}_source"
        t = [s for s in derived.expr.free_symbols if s.name == "t"][0]
        n = [s for s in derived.expr.free_symbols if s.name == "n"][0]
        for size in range(2, 7):
            p = {"reflect": size - 1, "circular": size}.get(mode, 4)  # as far as the mode fits
            padded = reference.pad(np.arange(size, dtype=float), ((p, p),), mode)
            for position in range(-p, size + p):
                assert int(derived.expr.subs({t: position, n: size})) == padded[position + p]


def test_adaptive_windows_match_the_spec():
    i, n, o, t = (sympy.Symbol(name, integer=True) for name in "inot")
    start, end = ADAPTIVE_WINDOW.expr.args
    for size, out in itertools.product(range(1, 9), range(1, 9)):
        at = [{i: k, n: size, o: out} for k in range(out)]
        windows = [(int(start.subs(point)), int(end.subs(point))) for point in at]
        assert windows == adaptive_windows(size, out)
        for pixel in range(size):
            holding = [k for k, (lo, hi) in enumerate(windows) if lo <= pixel < hi]
            assert holding[0] == ADAPTIVE_FIRST.expr.subs({t: pixel, n: size, o: out})


@pytest.mark.parametrize("build, error, match", [
    (lambda: K.ConvGeometry((3,), (1,), ((0, 0),), (1,), mode="mirror"), ValueError,
     "padding_mode must be one of .* got 'mirror'"),
    (lambda: K.ConvGeometry((3,), (1,), ((0, 0),), (1,), dtype=np.float16), TypeError,
     "dtype float16 has no kernels"),
    (lambda: K.conv_forward(SAME3, 4, activation="gelu"), ValueError,
     "activation must be one of .* got 'gelu'"),
    (lambda: K.conv_backward_data(SAME3, bias=True), ValueError, "transposed=True"),
    (lambda: K.avg_pool_forward(K.PoolGeometry((3,), (1,), (0,), (2,)), True), ValueError,
     r"average pooling has no dilation, got dilation \(2,\)"),
    (lambda: K.Tile(64, 64, 16, 3, 4), ValueError, "does not divide evenly"),
    # truncated or taken as they came, these built k2, s-2, p-1 or 1-D kernels named p1x5
    (lambda: K.ConvGeometry((2.5,), (1,), ((0, 0),), (1,)), TypeError,
     r"kernel_size takes ints, got 2.5"),
    (lambda: K.ConvGeometry((3,), (True,), ((0, 0),), (1,)), TypeError, "stride takes ints"),
    (lambda: K.ConvGeometry((3,), (-2,), ((0, 0),), (1,)), ValueError,
     "stride must be at least 1, got -2"),
    (lambda: K.ConvGeometry((3,), (1,), ((1, -1),), (1,)), ValueError,
     "pads must be at least 0, got -1"),
    (lambda: K.ConvGeometry((3,), (1,), ((1, 1), (5, 5)), (1,)), ValueError,
     r"one \(lo, hi\) pair per axis \(1\)"),
    (lambda: K.ConvGeometry((3,), (1, 1), ((1, 1),), (1,)), ValueError,
     "stride has 2 values for a kernel of 1 axes"),
    (lambda: K.ConvGeometry((), (), (), ()), ValueError, "kernel_size has no axes"),
    (lambda: K.ConvGeometry((3,), (1,), ((0, 0),), (1,), groups=0), ValueError,
     "groups must be at least 1"),
    (lambda: K.PoolGeometry((2,), (1,), (-1,), (1,)), ValueError, "padding must be at least 0"),
    (lambda: K.conv_forward(SAME3, 0), ValueError, "channels_per_group must be at least 1"),
    (lambda: K.pad_forward(((1, -1),), "reflect", F32), ValueError, "pads must be at least 0"),
    (lambda: K.adaptive_max_pool_forward(0, F32), ValueError, "dims must be at least 1"),
    (lambda: W.winograd_output(4, (0, 1), F32), ValueError, "dilation must be at least 1"),
    (lambda: W.winograd_input(4, ((1, 1),), (1, 1), F32), ValueError,
     r"pair per axis \(2\)"),
], ids=["mode", "dtype", "activation", "bias", "avg-dilation", "tile", "float", "bool",
        "negative-stride", "negative-pad", "pads-length", "stride-length", "no-axes", "groups",
        "pool-padding", "channels", "pad-kernel", "adaptive-dims", "winograd-dilation",
        "winograd-pads"])
def test_bad_static_parameters_are_refused(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_static_parameters_may_be_numpy_integers():
    geometry = K.ConvGeometry(np.array([3, 3]), np.array([1, 2]), ((np.int64(1), 1),) * 2,
                              (1, 1))
    assert geometry == K.ConvGeometry((3, 3), (1, 2), ((1, 1), (1, 1)), (1, 1))
    assert K.PoolGeometry(np.array([2, 2]), (2, 2), (0, 0), (1, 1)).kernel_size == (2, 2)


def test_a_loop_over_the_padding_counts_in_64_bits():
    """P^T's loop over the border positions counted in an int: with p_lo + p_hi ≥ 2^31 - 1,
    r <= p_lo + p_hi held for every int, and the 64-bit kernel never finished."""
    pads = ((2 ** 30, 2 ** 30 + 1),)
    huge = K.ConvGeometry((1,), (2 ** 33,), pads, (1,), 1, "replicate", F64)
    for kernel in (K.conv_backward_data(huge), K.col2im(huge),
                   K.pad_adjoint(pads, "replicate", F64)):
        bounds = re.findall(r"for \((\w+(?: \w+)?) r0 = 0; r0 <= (\d+);", kernel.source)
        assert bounds == [("long long", str(2 ** 31 + 1))], kernel.name


def test_tile_table_covers_every_channel_count():
    for bound, tile in K.TILES:
        assert K.tile_for(bound) == tile
        assert tile.threads % 32 == 0 and tile.bk * tile.bm % tile.threads == 0
    assert [K.tile_for(c).bn for c in (1, 4, 5, 16, 17, 32, 33, 4096)] == [4, 4, 16, 16, 32, 32,
                                                                           64, 64]


def wavefronts(entries: list[tuple[int, int]], pitch: int, itemsize: int) -> int:
    """Cycles of one warp-wide store of ``entries`` (row, column) into a shared array with
    rows ``pitch`` entries apart: the warp is served in phases of 128 bytes' worth of lanes
    (32 floats, 16 doubles), each phase as many wavefronts as the most distinct 4-byte words
    that it asks of one of the 32 banks."""
    lanes, total = 128 // itemsize, 0
    for start in range(0, len(entries), lanes):
        words = {(row * pitch + col) * itemsize // 4 + part
                 for row, col in entries[start:start + lanes] for part in range(itemsize // 4)}
        total += max(sum(word % 32 == bank for word in words) for bank in range(32))
    return total


def declared_pitches(source: str) -> dict[str, int]:
    """{"tile_a": pitch, "tile_b": pitch} from the kernel's __shared__ declarations."""
    found = re.findall(r"__shared__ (?:__align__\(\d+\) )?\w+ (tile_[ab])\[\d+\]\[(\d+)\];",
                       source)
    return {name: int(pitch) for name, pitch in found}


Entry = Callable[[int, int], tuple[int, int]]
"""The (row, column) of a shared tile that thread tid stores in its step l."""


def warp_stores(tile: K.Tile, width: int, entry: Entry) -> list[list[tuple[int, int]]]:
    """The entries of every warp-wide store that fills a stage's shared tile of ``width``
    columns: step l of thread tid stores entry(tid, l) where f = tid + l * threads < BK * width."""
    stores = []
    for warp in range(0, tile.threads, 32):
        for step in range(-(-tile.bk * width // tile.threads)):
            stores.append([entry(tid, step) for tid in range(warp, warp + 32)
                           if tid + step * tile.threads < tile.bk * width])
    return stores


def printed_weight_entry(kernel: K.Kernel) -> Entry:
    """The forward's weight-tile entry of (tid, l), from the index expressions printed in its
    source (C's / on non-negative ints is //)."""
    found = re.search(r"tile_b\[([^\]]+)\]\[([^\]]+)\] = b_next", kernel.source).groups()
    k_text, col_text = (text.replace("/", "//") for text in found)
    return lambda tid, step: (eval(k_text, {"tid": tid, "l": step}),
                              eval(col_text, {"tid": tid, "l": step}))


def stored_at(tile: K.Tile, tid: int, step: int, reduction_first: bool) -> tuple[int, int]:
    """Entry f = tid + l * threads at [f % BK][f / BK] (reduction index first) or at
    [f / BM][f % BM] (the im2col tile, a row at a time)."""
    f = tid + step * tile.threads
    return (f % tile.bk, f // tile.bk) if reduction_first else divmod(f, tile.bm)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
def test_shared_tiles_are_stored_without_bank_conflicts(dtype):
    """Every store that fills a stage's shared tiles takes one wavefront per 128 bytes: the
    forward's weight tile (as its source prints it) and both weight-gradient tiles are filled
    reduction index first, the forward's im2col tile a row at a time (the pitches read from
    the declarations)."""
    geometry = K.ConvGeometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), dtype=dtype)
    forwards = [K.conv_forward(geometry, bound) for bound, _ in K.TILES]
    for kernel in [*forwards, K.conv_backward_weight_gemm(geometry)]:
        tile, pitches = kernel.tile, declared_pitches(kernel.source)
        reduction_first = functools.partial(stored_at, tile, reduction_first=True)
        entries_of = {"tile_a": reduction_first, "tile_b": reduction_first}
        if kernel in forwards:
            entries_of = {"tile_a": functools.partial(stored_at, tile, reduction_first=False),
                          "tile_b": printed_weight_entry(kernel)}
        for name, width in [("tile_a", tile.bm), ("tile_b", tile.bn)]:
            for entries in warp_stores(tile, width, entries_of[name]):
                ideal = -(-len(entries) * dtype.itemsize // 128)
                assert wavefronts(entries, pitches[name], dtype.itemsize) == ideal, (
                    kernel.name, name)


def test_bank_model_counts_conflicts():
    """The model above on stores it must find slow: 16 floats of a column in rows 64 apart
    all hit one bank; rows 66 apart spread over 32."""
    column = [(k, c) for c in range(2) for k in range(16)]
    assert wavefronts(column, 64, 4) == 16
    assert wavefronts(column, 66, 4) == 1
    assert wavefronts([(k, 0) for k in range(16)], 64, 8) == 16
    assert wavefronts([(k, 0) for k in range(16)], 65, 8) == 1


def weight_stores(kernel: K.Kernel) -> list[list[tuple[int, int]]]:
    """Every warp's stores into the forward's weight tile, as its source prints them."""
    return warp_stores(kernel.tile, kernel.tile.bn, printed_weight_entry(kernel))


@pytest.mark.parametrize("precision", K.TENSOR_CORE_PRECISIONS)
def test_tensor_core_tiles_are_read_and_stored_without_bank_conflicts(precision):
    """At the pitches the kernels declare, each fragment load of the mma (lane l reads row
    (k/8)(l mod 4) + e of 8 neighbouring columns floor(l/4) + c) takes one wavefront, and so
    does each store of the forward's weight tile, whose entries cover the tile once."""
    forward = K.conv_forward(SAME3, 64, tensor_cores=precision)
    step = K.PRECISIONS[precision].k // 8
    for kernel in (forward, K.conv_backward_weight_gemm(SAME3, tensor_cores=precision)):
        for name, pitch in declared_pitches(kernel.source).items():
            for row, column in itertools.product(range(kernel.tile.bk), range(0, 64, 8)):
                lanes = [(row + step * (lane % 4), column + lane // 4) for lane in range(32)]
                if max(r for r, _ in lanes) < kernel.tile.bk:
                    assert wavefronts(lanes, pitch, 4) == 1, (kernel.name, name)
    stores = weight_stores(forward)
    assert all(wavefronts(entries, declared_pitches(forward.source)["tile_b"], 4) == 1
               for entries in stores)
    filled = [entry for entries in stores for entry in entries]
    assert sorted(filled) == list(itertools.product(range(forward.tile.bk), range(64)))


def test_simt_weight_stores_cover_the_tile_once():
    for bound, _ in K.TILES:
        kernel = K.conv_forward(SAME3, bound)
        filled = sorted(entry for entries in weight_stores(kernel) for entry in entries)
        assert filled == list(itertools.product(range(kernel.tile.bk), range(kernel.tile.bn)))
