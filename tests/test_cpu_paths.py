"""Every CPU path, forced, against the float64 reference and PyTorch.

The NumPy backend computes a correlation by one of five paths (convproof.cpu.conv): pointwise
(1x1 GEMM), depthwise (tap loop on polyphase components), phases (an input gradient as one
stride-1 correlation per phase of the stride), winograd (F(4x4, 3x3)) and im2col.
Each runs here on random problems of the shapes it accepts, through the whole functional API
(padding modes, groups, strides, dilations, odd sizes), in float64 against the reference
written from the sum definitions and in float32 against both the reference and PyTorch.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convproof import arrays, functional, reference
from convproof.cpu import (conv, depthwise, im2col, maxima, pointwise, threads, unfold,
                           winograd, workspace)
from convproof.spec import PADDING_MODES, ConvSpec
from strategies import ConvCase

PATHS = tuple(conv.PATHS)


# --------------------------------------------------------------------------------------------
# Problems each path accepts
# --------------------------------------------------------------------------------------------

@st.composite
def path_cases(draw, path: str) -> ConvCase:
    """A random convolution of a shape that ``path`` computes (im2col: any)."""
    dims = 2 if path == "winograd" else draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    in_channels = groups * (1 if path == "depthwise" else draw(st.integers(1, 3)))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = {"winograd": (3, 3), "pointwise": (1,) * dims}.get(
        path, tuple(draw(st.integers(1, 3)) for _ in range(dims)))
    stride = (1,) * dims if path == "winograd" else tuple(draw(st.integers(1, 3))
                                                          for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 3 if path == "winograd" else 2)) for _ in range(dims))
    size = tuple(draw(st.integers(1, {1: 13, 2: 11, 3: 6}[dims])) for _ in range(dims))
    mode = draw(st.sampled_from(PADDING_MODES))
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 3)
    padding = tuple((draw(st.integers(0, min(3, limit(n)))), draw(st.integers(0, min(3, limit(n)))))
                    for n in size)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padding = tuple(pair if n + sum(pair) >= span else (0, 0)
                    for n, pair, span in zip(size, padding, spans))
    size = tuple(max(n, span - sum(pair)) for n, pair, span in zip(size, padding, spans))
    spec = ConvSpec(in_channels, out_channels, kernel, stride=stride, padding=padding,
                    dilation=dilation, groups=groups, padding_mode=mode)
    return ConvCase(draw(st.integers(1, 3)), size, spec, seed=draw(st.integers(0, 2**32 - 1)))


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Within the block, the names of the paths that computed each call, in order."""
    names: list[str] = []
    original = conv.choose

    def spy(*args, **kwargs):
        picked = original(*args, **kwargs)
        names.append(picked.name)
        return picked

    conv.choose = spy
    try:
        yield names
    finally:
        conv.choose = original


@pytest.fixture
def chosen():
    with recording() as names:
        yield names


def _passes(case: ConvCase, arrays):
    """forward, input gradient, weight gradient of the functional API for a case."""
    x, w, b, g = arrays
    dims, kwargs = case.dims, case.kwargs
    return (functional.conv(x, w, b, **kwargs, dims=dims),
            functional.conv_input(x.shape, w, g, **kwargs, dims=dims),
            functional.conv_weight(x, w.shape, g, **kwargs, dims=dims))


def _references(case: ConvCase, arrays):
    x, w, b, g = (a.astype(np.float64) for a in arrays)
    kwargs = case.kwargs
    return (reference.conv(x, w, b, **kwargs),
            reference.conv_input_grad(x.shape, w, g, **kwargs),
            reference.conv_weight_grad(x, w.shape, g, **kwargs))


def _magnitudes(case: ConvCase, arrays) -> list[float]:
    """Each pass's largest sum of |terms| (the reference on |x|, |w|, |b|, |g|), the scale of
    its rounding error (see rounding.py): a sum that cancels, as a product and a bias of
    opposite signs may, is moved by float32's rounding of its inputs alone by more than
    FLOAT32_RTOL of itself."""
    return [float(np.abs(r).max(initial=0.0))
            for r in _references(case, [np.abs(a) for a in arrays])]


def assert_close(actual, expected, rtol, scale=None):
    """max |actual - expected| <= rtol * scale (and the same shape), the scale
    max |expected| unless given."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = np.abs(actual.astype(np.float64) - expected).max(initial=0.0)
    if scale is None:
        scale = np.abs(expected).max(initial=0.0)
    assert error <= rtol * max(scale, 1e-300), error


# float32 bounds relative to the largest sum of |terms|: the direct sums lose a few ulps;
# F(4x4, 3x3) loses ~10x more (benchmarks/NOTES.md), hence its looser bound, also for the
# phases (a stride-1 3x3 phase may take it).
FLOAT32_RTOL = {"pointwise": 1e-5, "depthwise": 1e-5, "im2col": 1e-5, "winograd": 2e-4,
                "phases": 2e-4}


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=25)
@given(data=st.data())
def test_each_path_against_the_reference(path, data):
    """float64 within 1e-10 and float32 within FLOAT32_RTOL of the reference, every pass,
    relative to its largest sum of |terms|."""
    case = data.draw(path_cases(path))
    expected = _references(case, case.arrays())
    scales = _magnitudes(case, case.arrays())
    with conv.forced(path), recording() as chosen:
        for dtype, rtol in ((np.float64, 1e-10), (np.float32, FLOAT32_RTOL[path])):
            for actual, wanted, scale in zip(_passes(case, case.arrays(dtype)), expected,
                                             scales):
                assert actual.dtype == dtype
                assert_close(actual, wanted, rtol, scale)
    assert path in chosen  # the forced path computed (at least) the passes it offers


@pytest.mark.parametrize("path", PATHS)
def test_each_path_against_torch(path, torch, rng):
    """float32 2-D problems of odd sizes, with groups and padding, beside torch's results."""
    tf, tgrad = torch.nn.functional, torch.nn.grad
    shapes = {"pointwise": (1, 2, 1), "depthwise": (3, 2, 2), "winograd": (3, 1, 2),
              "im2col": (3, 2, 2), "phases": (3, 2, 2)}
    kernel, stride, dilation = shapes[path]
    groups, multiplier = (3, 2) if path == "depthwise" else (3, 1)
    in_channels = groups if path == "depthwise" else 6
    out_channels = groups * multiplier if path == "depthwise" else 9
    x = rng.standard_normal((2, in_channels, 13, 11)).astype(np.float32)
    w = rng.standard_normal((out_channels, in_channels // groups, kernel, kernel))
    w = w.astype(np.float32)
    options = dict(stride=stride, padding=(1, 2), dilation=dilation, groups=groups)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    expected = tf.conv2d(tx, tw, **options)
    g = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
    with conv.forced(path):
        actual = (functional.conv2d(x, w, **options),
                  functional.conv2d_input(x.shape, w, g, **options),
                  functional.conv2d_weight(x, w.shape, g, **options))
    peer = (expected, tgrad.conv2d_input(x.shape, tw, torch.from_numpy(g), **options),
            tgrad.conv2d_weight(tx, w.shape, torch.from_numpy(g), **options))
    for mine, theirs in zip(actual, peer):
        assert_close(mine, theirs.double().numpy(), FLOAT32_RTOL[path])


# --------------------------------------------------------------------------------------------
# Choosing a path
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, options, expected", [
    ((8, 16, 14, 14), dict(w=(32, 16, 1, 1)), "pointwise"),
    ((2, 16, 14, 14), dict(w=(16, 1, 3, 3), groups=16), "depthwise"),
    ((2, 16, 14, 14), dict(w=(32, 16, 3, 3)), "winograd"),
    ((2, 16, 14, 14), dict(w=(32, 16, 3, 3), dilation=2), "winograd"),
    ((2, 16, 14, 14), dict(w=(32, 16, 3, 3), stride=2), "im2col"),
    ((1, 512, 2, 2), dict(w=(512, 512, 3, 3)), "im2col"),   # too few tiles for the weights
    ((2, 3, 20), dict(w=(4, 3, 5)), "im2col"),
])
def test_automatic_choice(shape, options, expected, chosen, rng):
    options = dict(options)
    w = rng.standard_normal(options.pop("w"))
    x = rng.standard_normal(shape)
    functional.conv(x, w, padding=1, **options, dims=len(shape) - 2)
    assert chosen == [expected]


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_input_that_is_not_finite_spoils_only_the_windows_that_read_it(value, dtype, chosen,
                                                                         rng):
    """Winograd would make whole tiles nan; such calls go to im2col, so that exactly the
    outputs of the windows that read the value are not finite, with the reference's (the
    definition's) inf or nan, and the others keep their values."""
    x = rng.standard_normal((2, 8, 16, 16)).astype(dtype)
    w = rng.standard_normal((8, 8, 3, 3)).astype(dtype)
    g = rng.standard_normal((2, 8, 16, 16)).astype(dtype)
    x[1, 3, 7, 9] = value
    g[0, 5, 4, 4] = value
    results = (functional.conv2d(x, w, padding=1),
               functional.conv2d_input(x.shape, w, g, padding=1),
               functional.conv2d_weight(x, w.shape, g, padding=1))
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    wanted = (reference.conv(x64, w64, padding=1),
              reference.conv_input_grad(x.shape, w64, g64, padding=1),
              reference.conv_weight_grad(x64, w.shape, g64, padding=1))
    assert chosen == ["im2col"] * 3
    # forward and input gradient: 8 channels x 3 x 3 windows; weight gradient: every tap of
    # input channel 3 and of output channel 5
    for got, want, spoiled in zip(results, wanted, (72, 72, 72 + 72 - 9)):
        assert np.count_nonzero(~np.isfinite(want)) == spoiled
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
        finite = np.isfinite(want)
        assert_close(got[finite], want[finite], 1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("operation, x_shape, w_shape, bad, options, avoided", [
    # the depthwise weight gradient runs over a row's extra columns: x[0, 0, 6, 5] is read by no
    # window (stride 3), only by an extra column
    ("weight", (1, 1, 7, 6), (2, 1, 3, 3), ("x", (0, 0, 6, 5)), dict(stride=3, padding=(2, 1)),
     "depthwise"),
    # the depthwise input gradient gathers from a zero-padded gradient
    ("input", (1, 4, 9, 9), (4, 1, 3, 3), ("w", (1, 0, 0, 0)), dict(stride=2, groups=4),
     "depthwise"),
    # so do the phases: a nan tap must not reach pixels that no window gives it
    ("input", (1, 64, 6, 6), (8, 64, 3, 3), ("w", (0, 0, 0, 0)),
     dict(stride=2, padding=2, dilation=2), "phases"),
])
def test_gradients_by_extra_terms_leave_non_finite_operands_to_im2col(
        operation, x_shape, w_shape, bad, options, avoided, chosen, rng):
    """0·nan = nan: a path that computes terms the definition does not have would spoil
    entries the definition leaves finite; the same call on finite operands takes that path."""
    arrays = dict(x=rng.standard_normal(x_shape), w=rng.standard_normal(w_shape))
    arrays["g"] = rng.standard_normal(reference.conv(arrays["x"], arrays["w"], **options).shape)

    def gradient(x, w, g):
        if operation == "weight":
            return (functional.conv2d_weight(x, w.shape, g, **options),
                    reference.conv_weight_grad(x, w.shape, g, **options))
        return (functional.conv2d_input(x.shape, w, g, **options),
                reference.conv_input_grad(x.shape, w, g, **options))
    gradient(**arrays)
    assert chosen[0] == avoided
    chosen.clear()
    name, index = bad
    arrays[name][index] = np.nan
    got, want = gradient(**arrays)
    assert chosen == ["im2col"]
    assert np.count_nonzero(np.isnan(want)) < want.size
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert_close(got[~np.isnan(want)], want[~np.isnan(want)], 1e-12)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e37), (np.float64, 1e307)])
def test_winograd_leaves_operands_it_would_overflow_to_im2col(dtype, scale, chosen, rng):
    """Finite inputs near the top of the range: Bᵀ d B multiplies them by up to 196, so
    Winograd gave ±inf where the definition is finite (|y| ~ 1e31 for |x| ~ 1e37 and
    |w| ~ 1e-6 in float32); such calls go to im2col, ordinary ones stay."""
    x = (rng.standard_normal((2, 16, 8, 8)) * scale).astype(dtype)
    w = (rng.standard_normal((16, 16, 3, 3)) * 1e-6).astype(dtype)
    g = (rng.standard_normal((2, 16, 8, 8)) * scale).astype(dtype)
    results = (functional.conv2d(x, w, padding=1),
               functional.conv2d_input(x.shape, w, g, padding=1),
               functional.conv2d_weight(x, w.shape, g * 1e-30 / scale, padding=1))
    assert chosen == ["im2col"] * 3
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    wanted = (reference.conv(x64, w64, padding=1),
              reference.conv_input_grad(x.shape, w64, g64, padding=1),
              reference.conv_weight_grad(x64, w.shape, g64 * 1e-30 / scale, padding=1))
    for got, want in zip(results, wanted):
        assert np.isfinite(got).all() and np.isfinite(want).all()
        assert_close(got, want, 1e-5 if dtype == np.float32 else 1e-12)
    chosen.clear()
    functional.conv2d(x / scale, w, padding=1)
    assert chosen == ["winograd"]


@pytest.mark.parametrize("limit", [1, 100, 10**9])  # one entry a run, a few, all at once
def test_largest_magnitude_finds_every_entry_in_its_runs(limit, rng, monkeypatch):
    monkeypatch.setattr(arrays, "FINITE_CHECK_BYTES", limit)
    x = rng.standard_normal((7, 3, 5))
    assert arrays.largest_magnitude(x) == np.abs(x).max()
    assert arrays.largest_magnitude(x[:0]) == 0 and arrays.largest_magnitude(x[0, 0, 0]) == abs(
        x[0, 0, 0])
    for index in [(0, 0, 0), (3, 1, 2), (6, 2, 4)]:
        for value, expected in ((-1e300, 1e300), (np.inf, np.inf), (-np.inf, np.inf)):
            spoiled = x.copy()
            spoiled[index] = value
            assert arrays.largest_magnitude(spoiled[:, ::-1]) == expected
        spoiled = x.copy()
        spoiled[index] = np.nan
        assert np.isnan(arrays.largest_magnitude(spoiled))
    for dtype in (np.int8, np.int16, np.int64):  # the least int, whose abs wraps to itself
        least = np.iinfo(dtype).min
        assert arrays.largest_magnitude(np.array([[3], [least]], dtype=dtype)) == -float(least)


@pytest.mark.parametrize("limit", [1, 100, 10**9])  # one entry a run, a few, all at once
def test_all_finite_finds_every_entry_in_its_runs(limit, rng, monkeypatch):
    monkeypatch.setattr(arrays, "FINITE_CHECK_BYTES", limit)
    x = rng.standard_normal((7, 3, 5))
    assert arrays.all_finite(x) and arrays.all_finite(x[:0]) and arrays.all_finite(x[0, 0, 0])
    for index in [(0, 0, 0), (3, 1, 2), (6, 2, 4)]:
        for value in (np.nan, np.inf, -np.inf):
            spoiled = x.copy()
            spoiled[index] = value
            assert not arrays.all_finite(spoiled)
            assert not arrays.all_finite(spoiled[:, ::-1])  # any strides


class _DeviceArray:
    """A stand-in for a CuPy array: the reductions it answers, and no slicing."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.reductions = values, []
        self.ndim, self.size, self.nbytes, self.dtype = (values.ndim, values.size, values.nbytes,
                                                         values.dtype)

    def min(self):
        self.reductions.append("min")
        return self.values.min()

    def max(self):
        self.reductions.append("max")
        return self.values.max()

    def __getitem__(self, key):
        raise AssertionError(f"a device array was cut at {key}")


def test_an_array_of_another_library_is_reduced_whole(rng, monkeypatch):
    """On a GPU each run would wait for the device: one min and one max in all."""
    monkeypatch.setattr(arrays, "FINITE_CHECK_BYTES", 1)
    x = rng.standard_normal((64, 3, 5))
    x[5, 1, 2] = -7.5
    device = _DeviceArray(x)
    assert arrays.largest_magnitude(device) == 7.5 and device.reductions == ["min", "max"]
    x[9, 0, 0] = np.inf
    assert not arrays.all_finite(_DeviceArray(x))


@pytest.mark.parametrize("shape, w, stride, groups, expected", [
    ((2, 64, 9, 9), (8, 64, 3, 3), 2, 1, "phases"),
    ((2, 128, 9, 9), (8, 64, 3, 3), 2, 2, "phases"),
    ((2, 128, 9, 9), (128, 16, 3, 3), 2, 8, "phases"),
    ((2, 32, 9, 9), (8, 32, 3, 3), 2, 1, "im2col"),     # too few input channels
    ((2, 64, 9, 9), (128, 64, 3, 3), 2, 1, "im2col"),   # more output channels than input
    ((2, 3, 20, 20), (64, 3, 7, 7), 2, 1, "im2col"),    # the stem: col2im 7x faster
    ((2, 64, 9, 9), (8, 64, 3, 3), 1, 1, "winograd"),   # stride 1: one phase, no gain
    ((2, 64, 9, 9), (64, 1, 3, 3), 2, 64, "depthwise"),
    ((2, 64, 9, 9), (8, 64, 1, 1), 2, 1, "pointwise"),
])
def test_automatic_choice_of_the_input_gradient(shape, w, stride, groups, expected, chosen,
                                                rng):
    """A strided input gradient takes the phases where there are WIDE input channels and no
    more output channels (then each phase's correlation chooses again), col2im otherwise;
    the gradient matches the reference (float64)."""
    x, weight = rng.standard_normal(shape), rng.standard_normal(w)
    options = dict(stride=stride, padding=1, groups=groups)
    y = functional.conv(x, weight, **options, dims=2)
    g = rng.standard_normal(y.shape)
    chosen.clear()
    dx = functional.conv_input(x.shape, weight, g, **options, dims=2)
    assert chosen[0] == expected
    assert len(chosen) == (5 if expected == "phases" else 1)  # 3x3/2: 4 phase correlations
    assert_close(dx, reference.conv_input_grad(x.shape, weight, g, **options), 1e-12)


def test_a_forced_path_that_does_not_fit_is_refused(rng):
    x, w = rng.standard_normal((1, 2, 8, 8)), rng.standard_normal((3, 2, 3, 3))
    args = ((2, 2), ((1, 1), (1, 1)), (1, 1), 1)
    with pytest.raises(ValueError, match=r"path='winograd' does not compute correlate for "
                                         r"kernel \(3, 3\), stride \(2, 2\)"):
        conv.correlate(x, w, *args, path="winograd")
    with pytest.raises(ValueError, match="path='pointwise' does not compute"):
        conv.correlate_input_grad(x, w, *args, (8, 8), path="pointwise")
    with pytest.raises(ValueError, match=r"path must be one of .*im2col, got 'fft'"):
        conv.correlate(x, w, *args, path="fft")
    with pytest.raises(ValueError, match="got 'fft'"), conv.forced("fft"):
        pass


# --------------------------------------------------------------------------------------------
# Blocks, tiles and threads
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tile", [2, 4, 6])
@pytest.mark.parametrize("limit", [1, 3000, 10**9])
@pytest.mark.parametrize("cached_weights", [0, 2**30])
@pytest.mark.parametrize("few_tiles", [0, 10**6])
def test_winograd_tiles_and_blocks(tile, limit, cached_weights, few_tiles, rng, monkeypatch):
    """Every tile size, in blocks of one tile row up to the whole batch (the unfold's blocks
    and the cached ones of small U alike), with the blocks stored samples first or last,
    equals the reference (float64), with partial last tiles, negative and asymmetric padding
    and groups."""
    monkeypatch.setattr(unfold, "UNFOLD_BUFFER_BYTES", limit)
    monkeypatch.setattr(unfold, "CACHED_BLOCK_BYTES", limit)
    monkeypatch.setattr(winograd, "CACHED_WEIGHT_BYTES", cached_weights)
    monkeypatch.setattr(winograd, "FEW_TILES", few_tiles)
    x = rng.standard_normal((3, 4, 9, 7))
    w = rng.standard_normal((6, 2, 3, 3))
    pads = ((2, 0), (1, 3))
    y = winograd.correlate(x, w, (1, 1), pads, (1, 1), 2, tile=tile)
    assert_close(y, reference.conv(x, w, padding=pads, groups=2), 1e-12)
    g = rng.standard_normal(y.shape)
    assert_close(winograd.correlate_input_grad(g, w, (1, 1), pads, (1, 1), 2, (9, 7), tile=tile),
                 reference.conv_input_grad(x.shape, w, g, padding=pads, groups=2), 1e-12)
    assert_close(winograd.correlate_weight_grad(x, g, (1, 1), pads, (1, 1), 2, (3, 3), tile=tile),
                 reference.conv_weight_grad(x, w.shape, g, padding=pads, groups=2), 1e-12)
    cropped = winograd.correlate(x, w, (1, 1), ((-1, 1), (0, -1)), (1, 1), 2, tile=tile)
    assert_close(cropped, reference.conv(x[:, :, 1:, :-1], w, padding=((0, 1), (0, 0)), groups=2),
                 1e-12)


@pytest.mark.parametrize("kernel, stride, dilation", [
    ((7, 7), (2, 2), (1, 1)), ((5, 3), (3, 2), (2, 1)), ((4,), (2,), (2,)),
    ((3, 2, 3), (2, 3, 1), (1, 2, 3)), ((2, 6), (4, 4), (3, 2)),
])
def test_polyphase_windows_are_the_windows(kernel, stride, dilation, rng, monkeypatch):
    """The pieces read from the polyphase components hold every tap's window exactly once."""
    monkeypatch.setattr(unfold, "PHASE_GAIN", 0)
    x_pad = rng.standard_normal((2, 3, *(17, 15, 13)[:len(kernel)]))
    windows = unfold.Windows(x_pad, kernel, stride, dilation)
    expected = unfold.window_view(x_pad, kernel, stride, dilation)
    assembled = np.full(expected.shape, np.nan)
    for taps, view in windows.pieces:
        target = assembled[(Ellipsis, *taps)]
        assert np.isnan(target).all()
        target[...] = view
    np.testing.assert_array_equal(assembled, expected)
    # one piece per residue class of d*m mod s: s / gcd(d, s) of them per axis (at most k)
    assert len(windows.pieces) == math.prod(min(s // math.gcd(d, s), k)
                                            for k, s, d in zip(kernel, stride, dilation))


@settings(max_examples=25)
@given(data=st.data())
def test_im2col_from_polyphase_components(data):
    """im2col unfolding from the polyphase components (whatever the gain) against the
    reference, every pass, float64."""
    case = data.draw(path_cases("im2col"))
    expected = _references(case, case.arrays())
    with pytest.MonkeyPatch.context() as patch, conv.forced("im2col"):
        patch.setattr(unfold, "PHASE_GAIN", 0)
        for actual, wanted in zip(_passes(case, case.arrays()), expected):
            assert_close(actual, wanted, 1e-10)


@pytest.mark.parametrize("kernel, stride, cached, expected", [
    ((3, 3), (1, 1), 2000, 8 * 1728),  # eight times the matrix: 6 x 4·9 float64
    ((7, 7), (2, 2), 2000, 8 * 9408),  # 6 x 4·49, its windows from polyphase components
    ((3, 3), (1, 1), 10**6, 10**6),  # at least the cache-sized blocks
    ((7, 7), (2, 2), 10**6, 10**6),
])
def test_im2col_blocks_by_the_matrix_each_block_reads_again(kernel, stride, cached, expected,
                                                           rng, monkeypatch):
    """The forward's blocks hold REREAD_BLOCK = 8 times its weights, the weight gradient's as
    many times its sum dW (the same size), at least CACHED_BLOCK_BYTES; both equal the
    reference in such blocks."""
    limits, blocks = [], unfold.blocks

    def recorded(*args):
        limits.append(args[3])
        return blocks(*args)

    monkeypatch.setattr(unfold, "blocks", recorded)
    monkeypatch.setattr(im2col, "REREAD_BLOCK", 8)
    monkeypatch.setattr(unfold, "CACHED_BLOCK_BYTES", cached)
    monkeypatch.setattr(unfold, "PHASE_GAIN", 0)
    x = rng.standard_normal((3, 4, 15, 13))
    w = rng.standard_normal((6, 4, *kernel))
    pads = ((1, 2), (2, 1))
    y = im2col.correlate(x, w, stride, pads, (1, 1), 1)
    g = rng.standard_normal(y.shape)
    dw = im2col.correlate_weight_grad(x, g, stride, pads, (1, 1), 1, kernel)
    assert limits == [expected, expected]
    assert_close(y, reference.conv(x, w, stride=stride, padding=pads), 1e-12)
    assert_close(dw, reference.conv_weight_grad(x, w.shape, g, stride=stride, padding=pads),
                 1e-12)


def _depthwise_passes(x, w, g, args):
    return (depthwise.correlate(x, w, *args),
            depthwise.correlate_input_grad(g, w, *args, x.shape[2:]),
            depthwise.correlate_weight_grad(x, g, *args, w.shape[2:]))


def test_depthwise_blocks_and_threads_change_nothing(rng, monkeypatch):
    """One channel per block, or the channels over 3 threads: the same bits, every pass."""
    x = rng.standard_normal((2, 5, 12, 9)).astype(np.float32)
    w = rng.standard_normal((10, 1, 3, 2)).astype(np.float32)
    args = ((2, 1), ((1, 2), (0, 1)), (1, 2), 5)
    g = rng.standard_normal(depthwise.correlate(x, w, *args).shape).astype(np.float32)
    whole = _depthwise_passes(x, w, g, args)
    monkeypatch.setattr(depthwise, "BLOCK_BYTES", 1)
    for part, expected in zip(_depthwise_passes(x, w, g, args), whole):
        np.testing.assert_array_equal(part, expected)
    monkeypatch.setattr(threads, "_THREADS", 3)
    monkeypatch.setattr(threads, "_POOL", threads.ThreadPoolExecutor(max_workers=2))
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 0)
    for part, expected in zip(_depthwise_passes(x, w, g, args), whole):
        np.testing.assert_array_equal(part, expected)


@settings(max_examples=15)
@given(data=st.data())
def test_depthwise_channels_over_threads_match_the_reference(data):
    """The channels cut over 3 threads, in blocks of one channel: float64 within 1e-10 of the
    reference, every pass (padding modes, strides, dilations, multipliers, 1-3 dims)."""
    case = data.draw(path_cases("depthwise"))
    expected = _references(case, case.arrays())
    with pytest.MonkeyPatch.context() as patch, conv.forced("depthwise"):
        patch.setattr(threads, "_THREADS", 3)
        patch.setattr(threads, "_POOL", threads.ThreadPoolExecutor(max_workers=2))
        patch.setattr(threads, "MIN_ELEMENTS", 0)
        patch.setattr(depthwise, "BLOCK_BYTES", 1)
        for actual, wanted in zip(_passes(case, case.arrays(np.float64)), expected):
            assert_close(actual, wanted, 1e-10)


@pytest.mark.parametrize("shape", [(3,), (2, 70000), (5, 3, 9000), (1, 1, 200, 400)])
def test_threaded_copies_are_exact(shape, rng, monkeypatch):
    """Copies cut over 3 threads equal np.copyto: transposed sources, views as targets,
    broadcast sources."""
    monkeypatch.setattr(threads, "_THREADS", 3)
    monkeypatch.setattr(threads, "_POOL", threads.ThreadPoolExecutor(max_workers=2))
    source = rng.standard_normal(shape[::-1]).T
    np.testing.assert_array_equal(threads.copy(source), source)
    assert threads.copy(source).flags.c_contiguous
    holder = np.zeros((*shape[:-1], shape[-1] + 3))
    threads.copy(source, out=holder[..., 1:-2])
    np.testing.assert_array_equal(holder[..., 1:-2], source)
    assert not holder[..., 0].any() and not holder[..., -2:].any()
    row = rng.standard_normal(shape[-1])
    np.testing.assert_array_equal(threads.copy(row, out=np.empty(shape)),
                                  np.broadcast_to(row, shape))


@pytest.mark.parametrize("length, step", [(0, 3), (7, 3), (8, 2), (5, 10), (1, 1)])
def test_blocks_cover_every_index_once(length, step, monkeypatch):
    """threads.blocks over 3 threads, items of size 3 and a budget of 3·step + 2: blocks of at
    most ``step``, each index in exactly one."""
    monkeypatch.setattr(threads, "_THREADS", 3)
    monkeypatch.setattr(threads, "_POOL", threads.ThreadPoolExecutor(max_workers=2))
    seen: list[int] = []

    def record(block: slice) -> None:
        assert 0 < block.stop - block.start <= step
        seen.extend(range(block.start, block.stop))  # list.extend holds the GIL

    threads.blocks(record, length, 3, 3 * step + 2, elements=threads.MIN_ELEMENTS)
    assert sorted(seen) == list(range(length))


@contextlib.contextmanager
def cut_by_samples() -> Iterator[list[slice]]:
    """Within the block, every winograd and im2col call is cut by samples over 3 threads
    (two pool workers and the caller); yields the parts run, in the order they started."""
    if not threads._blas_controllers():
        pytest.skip("threadpoolctl finds no BLAS library here, so no call is cut by samples")
    pieces: list[slice] = []
    run_part = threads._as_part

    def spy(function, piece):
        pieces.append(piece)
        return run_part(function, piece)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threads, "_THREADS", 3)
        patch.setattr(threads, "_POOL", threads.ThreadPoolExecutor(max_workers=2))
        patch.setattr(threads, "_as_part", spy)
        patch.setattr(conv, "SPLIT_MACS", 0)
        patch.setattr(conv, "SPLIT_WIDTH", 0)
        yield pieces


def blas_threads() -> list[int]:
    return [library.get_num_threads() for library in threads._blas_controllers()]


@pytest.mark.parametrize("path", ["winograd", "im2col", "phases"])
@settings(max_examples=15)
@given(data=st.data())
def test_calls_cut_by_samples_match_the_reference(path, data):
    """Each thread computing its own samples (float64 within 1e-10, float32 within
    FLOAT32_RTOL of the reference, relative to the largest sum of |terms|) leaves BLAS with
    its thread count.  (The phases' own correlations, inside a part, are not cut again.)"""
    case = data.draw(path_cases(path).filter(lambda case: case.batch >= 2))
    expected = _references(case, case.arrays())
    scales = _magnitudes(case, case.arrays())
    before = blas_threads()
    with conv.forced(path), cut_by_samples() as pieces:
        for dtype, rtol in ((np.float64, 1e-10), (np.float32, FLOAT32_RTOL[path])):
            for actual, wanted, scale in zip(_passes(case, case.arrays(dtype)), expected,
                                             scales):
                assert actual.dtype == dtype
                assert_close(actual, wanted, rtol, scale)
    cut_passes = 1 if path == "phases" else 3  # the input gradient; else every pass
    assert len(pieces) >= 2 * cut_passes and {p.start for p in pieces} >= {0, 1}
    assert blas_threads() == before


def test_no_cut_without_a_blas_to_limit(rng, monkeypatch):
    """Where threadpoolctl finds no BLAS library (so none can be set to one thread), calls
    run whole."""
    x, w = rng.standard_normal((3, 4, 10, 10)), rng.standard_normal((4, 4, 3, 3))
    with cut_by_samples() as pieces:
        monkeypatch.setattr(threads, "_blas_controllers", lambda: ())
        assert not threads.splits(3)
        y = conv.correlate(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    assert pieces == []
    assert_close(y, reference.conv(x, w, padding=1), 1e-12)


@pytest.mark.parametrize("a_shape, b_shape, cut", [
    ((5, 7, 9), (5, 9, 4), "batch"),         # a batch of at least one GEMM per thread
    ((6, 9), (3, 2, 9, 8), "batch"),         # a broadcast over the batch of b
    ((2, 40, 9), (2, 9, 6), "rows"),         # fewer GEMMs than threads: the longer side
    ((7, 9), (9, 50), "columns"),
    ((1, 1), (1, 1), None),                  # one row and one column: nothing to cut
])
def test_matmul_cut_over_threads_is_np_matmul(a_shape, b_shape, cut, rng, monkeypatch):
    """threads.matmul over 3 threads, every GEMM cut: np.matmul's product (float64 within
    1e-13; each part is the same BLAS call on a slice), cut along ``cut``, and BLAS keeps its
    thread count."""
    monkeypatch.setattr(threads, "_THREADS", 3)
    monkeypatch.setattr(threads, "_POOL", threads.ThreadPoolExecutor(max_workers=2))
    monkeypatch.setattr(threads, "MIN_MACS", 0)
    if not threads._blas_controllers():
        pytest.skip("threadpoolctl finds no BLAS library here, so no GEMM is cut")
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    expected = np.matmul(a, b)
    before = blas_threads()
    pieces: list[slice] = []
    run_part = threads._as_part
    monkeypatch.setattr(threads, "_as_part",
                        lambda function, piece: pieces.append(piece) or run_part(function, piece))
    product = threads.matmul(a, b)
    assert_close(product, expected, 1e-13)
    holder = np.zeros((*expected.shape[:-1], expected.shape[-1] + 1))
    assert threads.matmul(a, b, out=holder[..., 1:]) is not None
    assert_close(holder[..., 1:], expected, 1e-13)
    assert not holder[..., 0].any()
    lengths = {"batch": expected.shape[0], "rows": expected.shape[-2],
               "columns": expected.shape[-1], None: 1}
    covered = sorted(index for piece in pieces[:len(pieces) // 2]
                     for index in range(piece.start, piece.stop))
    assert covered == list(range(lengths[cut])) and (cut is None) == (len(pieces) == 2)
    assert blas_threads() == before


@pytest.mark.parametrize("stride, groups", [(1, 1), (2, 2)])
def test_pointwise_weight_gradient_summed_by_threads(stride, groups, rng, monkeypatch):
    """A 1x1 weight gradient of more positions than weights, its samples cut over 3 threads
    that each sum their own: the reference's sums (float64 within 1e-12)."""
    monkeypatch.setattr(threads, "MIN_MACS", 0)
    out_size = {1: (9, 8), 2: (5, 4)}[stride]
    x, g = rng.standard_normal((5, 4, 9, 8)), rng.standard_normal((5, 6, *out_size))
    with cut_by_samples() as pieces:
        dw = pointwise.correlate_weight_grad(x, g, (stride,) * 2, ((0, 0), (0, 0)), (1, 1),
                                             groups, (1, 1))
    assert {piece.start for piece in pieces} == {0, 1, 3}
    assert_close(dw, reference.conv_weight_grad(x, (6, 4 // groups, 1, 1), g, stride=stride,
                                                groups=groups), 1e-12)


@pytest.mark.parametrize("stride, groups, cut", [(1, 1, True), (2, 2, True), (1, 3, False)])
def test_pointwise_small_images_gathered_in_blocks(stride, groups, cut, rng, monkeypatch):
    """Images under unfold.SMALL_IMAGE positions (the weights' size rule off): the forward
    and the input gradient gather blocks of 2 samples (GATHERED_COLUMNS) side by side, within
    parts of 2, 2 and 3 samples cut over 3 threads (or on the calling thread alone): the
    reference's results (float64 within 1e-12)."""
    monkeypatch.setattr(threads, "MIN_MACS", 0 if cut else 1 << 40)
    out_size = {1: (5, 4), 2: (3, 2)}[stride]
    monkeypatch.setattr(pointwise, "GATHERED_COLUMNS", 2 * math.prod(out_size))
    monkeypatch.setattr(unfold, "GATHER_WEIGHT_BYTES", 0)
    x, w = rng.standard_normal((7, 6, 5, 4)), rng.standard_normal((12, 6 // groups, 1, 1))
    g = rng.standard_normal((7, 12, *out_size))
    options = ((stride,) * 2, ((0, 0), (0, 0)), (1, 1), groups)
    with cut_by_samples() as pieces:
        y = pointwise.correlate(x, w, *options)
        z = pointwise.correlate_input_grad(g, w, *options, (5, 4))
    assert sorted(piece.start for piece in pieces) == ([0, 0, 2, 2, 4, 4] if cut else [])
    assert_close(y, reference.conv(x, w, stride=stride, groups=groups), 1e-12)
    assert_close(z, reference.conv_input_grad(x.shape, w, g, stride=stride, groups=groups),
                 1e-12)


@pytest.mark.parametrize("batch, channels, size, dtype, gathered", [
    (32, (512, 2048), 7, np.float32, True),     # 4 MiB of weights
    (32, (256, 1024), 7, np.float32, True),     # 1 MiB
    (32, (256, 256), 7, np.float32, False),     # 256 KiB: read from the cache
    (32, (512, 512), 7, np.float64, True),      # 2 MiB in float64
    (32, (512, 2048), 8, np.float32, False),    # 64 positions
    (1, (512, 2048), 7, np.float32, False),     # one sample
])
def test_which_pointwise_products_gather_samples(batch, channels, size, dtype, gathered,
                                                 rng, monkeypatch):
    """The forward gathers samples for small images under large weights only, and either way
    its values are those of an independent float64 product (random inputs, so that samples
    or channels taken in the wrong order show)."""
    copies = []
    monkeypatch.setattr(pointwise.workspace, "copy",
                        lambda role, source: copies.append(role) or source.copy())
    in_channels, out_channels = channels
    x = rng.standard_normal((batch, in_channels, size, size)).astype(dtype)
    w = rng.standard_normal((out_channels, in_channels, 1, 1)).astype(dtype)
    y = pointwise.correlate(x, w, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert ("channels first" in copies) == gathered
    assert y.shape == (batch, out_channels, size, size) and y.dtype == dtype
    expected = np.einsum("oi,nihw->nohw", w[:, :, 0, 0].astype(np.float64),
                         x.astype(np.float64), optimize=True)
    tolerance = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    error = np.abs(y.astype(np.float64) - expected).max()
    assert error <= tolerance * np.abs(expected).max(), (error, np.abs(expected).max())


class OpenBlasThreadCount:
    """A stand-in for threadpoolctl's handle on OpenBLAS, with its rule: once the main thread
    has set the thread count, the other threads' settings are ignored."""

    def __init__(self) -> None:
        self.count = 2
        self.main_has_set = False

    def get_num_threads(self) -> int:
        return self.count

    def set_num_threads(self, count: int) -> None:
        if threading.current_thread() is threading.main_thread():
            self.main_has_set = True
        elif self.main_has_set:
            return
        self.count = count


def test_serial_blas_is_given_back_by_the_thread_that_took_it(monkeypatch):
    """The main thread takes SERIAL_BLAS, another enters and leaves after it: the main thread
    gives BLAS its thread count back as it leaves (left to the other, OpenBLAS would ignore
    it and stay on one thread), and the other changes nothing."""
    blas = OpenBlasThreadCount()
    monkeypatch.setattr(threads, "_blas_controllers", lambda: (blas,))
    inside, leave = threading.Event(), threading.Event()

    def other() -> int:
        with threads.SERIAL_BLAS:
            inside.set()
            leave.wait(timeout=10)
            return blas.count

    with threads.ThreadPoolExecutor(max_workers=1) as pool:
        with threads.SERIAL_BLAS:
            assert blas.count == 1
            later = pool.submit(other)
            assert inside.wait(timeout=10)
        assert blas.count == 2
        leave.set()
        assert later.result() == 2
    assert blas.count == 2 and threads.SERIAL_BLAS.owner is None


class InterruptedOnce(OpenBlasThreadCount):
    """A BLAS handle whose first setting of ``count`` threads is interrupted (Ctrl-C landing
    within threadpoolctl's call)."""

    def __init__(self, interrupted: int) -> None:
        super().__init__()
        self.interrupted: int | None = interrupted

    def set_num_threads(self, count: int) -> None:
        if count == self.interrupted:
            self.interrupted = None
            raise KeyboardInterrupt
        super().set_num_threads(count)


@pytest.mark.parametrize("interrupted", [1, 2])  # taking BLAS, giving it back
def test_an_interrupt_while_blas_threads_are_set_leaves_no_trace(interrupted, monkeypatch):
    """Two BLAS libraries, the second's setting interrupted: both keep (or get back) their
    thread counts, and SERIAL_BLAS is free for the next caller."""
    first, second = OpenBlasThreadCount(), InterruptedOnce(interrupted)
    monkeypatch.setattr(threads, "_blas_controllers", lambda: (first, second))
    with pytest.raises(KeyboardInterrupt):
        with threads.SERIAL_BLAS:
            assert first.count == second.count == 1
    assert first.count == second.count == 2
    assert threads.SERIAL_BLAS.owner is None and threads.SERIAL_BLAS.depth == 0
    with threads.SERIAL_BLAS:
        assert first.count == second.count == 1
    assert first.count == second.count == 2


def test_a_failing_part_gives_blas_its_threads_back():
    before = blas_threads()

    def part(samples: slice) -> None:
        assert blas_threads() == [1] * len(before)
        if samples.start:
            raise ArithmeticError(f"part {samples}")

    with cut_by_samples(), pytest.raises(ArithmeticError, match="part slice"):
        threads.each(part, 3)
    assert blas_threads() == before


def test_concurrent_callers_share_the_single_threaded_blas(rng):
    """Two threads of the caller's, each cutting its call by samples: right results, and
    BLAS has its thread count back once both are done."""
    x = rng.standard_normal((4, 6, 12, 12))
    w = rng.standard_normal((5, 6, 3, 3))
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    before = blas_threads()
    with cut_by_samples() as pieces, threads.ThreadPoolExecutor(2) as callers:
        results = list(callers.map(lambda _: conv.correlate(x, w, *args), range(4)))
    for y in results:
        assert_close(y, reference.conv(x, w, padding=1), 1e-12)
    assert len(pieces) == 4 * 3 and blas_threads() == before


@pytest.mark.skipif(not hasattr(os, "fork") or threads._THREADS < 2,
                    reason="needs os.fork and at least two threads")
def test_a_forked_process_runs_the_split_paths(rng):
    """A process forked after the pool has run (a multiprocessing or DataLoader worker) starts
    its own pool: the parent's threads do not exist there, so its parts would wait forever."""
    x = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    y = functional.conv2d(x, w, padding=1)  # the parent's pool has run
    reading, writing = multiprocessing.Pipe(duplex=False)

    def child() -> None:
        writing.send(functional.conv2d(x, w, padding=1))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    try:
        assert reading.poll(60), "the forked process did not finish its convolution in 60 s"
        np.testing.assert_array_equal(reading.recv(), y)
    finally:
        process.kill()
        process.join()


@pytest.mark.parametrize("path", ["winograd", "im2col", "depthwise", "phases"])
def test_results_into_a_given_array(path, rng):
    """``out=`` of the forward and the input gradient (those the path offers), also a
    strided view of a larger array."""
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((4, 1, 3, 3)) if path == "depthwise" else rng.standard_normal(
        (5, 4, 3, 3))
    groups = 4 if path == "depthwise" else 1
    stride = (2, 3) if path == "phases" else (1, 1)
    args = (stride, ((1, 0), (2, 1)), (1, 1), groups)
    module = conv.PATHS[path].module
    y = reference.conv(x, w, stride=stride, padding=args[1], groups=groups)
    g = rng.standard_normal(y.shape)
    z = reference.conv_input_grad(x.shape, w, g, stride=stride, padding=args[1], groups=groups)
    passes = {"correlate": (y, lambda out: module.correlate(x, w, *args, out=out)),
              "correlate_input_grad": (z, lambda out: module.correlate_input_grad(
                  g, w, *args, x.shape[2:], out=out))}
    for expected, compute in (passes[name] for name in conv.PATHS[path].operations
                              if name in passes):
        holder = np.zeros((*expected.shape[:-1], expected.shape[-1] + 2))
        for out in (np.empty(expected.shape), holder[..., 1:-1]):
            assert compute(out) is out
            assert_close(out, expected, 1e-12)
        assert not holder[..., 0].any() and not holder[..., -1].any()


def test_a_scratch_array_larger_than_the_limit_is_not_kept(monkeypatch):
    """The thread keeps at most LIMIT_BYTES between calls, even when one array alone is
    larger: the caller has it, the cache forgets it."""
    monkeypatch.setattr(workspace, "LIMIT_BYTES", 1000)
    workspace.clear()
    small = workspace.scratch("small", (100,), np.float64)  # 800 bytes, kept
    assert workspace.scratch("small", (100,), np.float64) is small
    large = workspace.scratch("large", (200,), np.float64)  # 1600 bytes: neither is kept
    assert large.shape == (200,)
    assert workspace.scratch("large", (200,), np.float64) is not large
    assert not workspace._cache()


def test_clear_while_threads_start_their_caches():
    """clear() walks the caches of 200 threads while new threads add theirs (the interpreter
    switching threads every microsecond): no 'set changed size during iteration'."""
    stop, failures = threading.Event(), []

    def hold_a_cache() -> None:
        workspace.scratch("t", (4,), np.float32)
        stop.wait()

    def start_caches() -> None:
        while not stop.is_set():
            worker = threading.Thread(target=workspace.scratch, args=("t", (4,), np.float32))
            worker.start()
            worker.join()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    running = [threading.Thread(target=hold_a_cache) for _ in range(200)]
    running += [threading.Thread(target=start_caches) for _ in range(4)]
    try:
        for thread in running:
            thread.start()
        for _ in range(2000):
            try:
                workspace.clear()
            except RuntimeError as exc:
                failures.append(exc)
    finally:
        stop.set()
        for thread in running:
            thread.join()
        sys.setswitchinterval(interval)
    assert not failures


def test_clear_frees_the_scratch_of_every_thread(rng):
    """After a call cut by samples the worker threads hold scratch arrays too; clear() drops
    them all."""
    x, w = rng.standard_normal((3, 4, 10, 10)), rng.standard_normal((4, 4, 3, 3))
    with cut_by_samples() as pieces:
        conv.correlate(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
        holders = [cache for cache in workspace._EVERY_CACHE if cache.arrays]
        assert len(pieces) == 3 and len(holders) >= 2  # the caller and a worker at least
        workspace.clear()
        assert not any(cache.arrays for cache in workspace._EVERY_CACHE)


@pytest.mark.parametrize("path, shape, channels, cut", [
    ("winograd", (8, 64, 56, 56), 64, True),
    ("depthwise", (8, 128, 56, 56), 128, False),    # cuts its channels itself
    ("winograd", (32, 512, 7, 7), 512, False),      # 784 positions a thread, 512 channels
    ("im2col", (8, 3, 112, 112), 64, True),
    ("pointwise", (8, 64, 56, 56), 256, False),     # one GEMM: BLAS threads do better
    ("winograd", (1, 64, 56, 56), 64, False),       # one sample
    ("winograd", (8, 2, 6, 6), 2, False),           # too little work
])
def test_which_calls_are_cut_by_samples(path, shape, channels, cut, monkeypatch):
    monkeypatch.setattr(threads, "_THREADS", 2)
    monkeypatch.setattr(threads, "_POOL", threads.ThreadPoolExecutor(max_workers=1))
    batch, in_channels, *out_size = shape
    kernel = (1, 1) if path == "pointwise" else (3, 3)
    groups = in_channels if path == "depthwise" else 1
    problem = conv.Problem(batch, in_channels, channels, kernel, tuple(out_size), (1, 1),
                           (1, 1), groups)
    assert conv._by_samples(conv.PATHS[path], problem) == cut


# --------------------------------------------------------------------------------------------
# Pooling: the sweeps of maxima.py and the global average
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", [
    (3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 2, 0, 1, False), (3, 1, 1, 2, False),
    (4, 3, 2, 1, True), (3, 3, 0, 1, True),
])
@pytest.mark.parametrize("route_bins, block_bytes", [  # planes a routing, channels a block
    (1, 1), (400, 5000), (maxima.ROUTE_BINS, maxima.BLOCK_BYTES)])  # 1 and 1, 2 and 2, all
def test_max_pool_ties_nan_and_infinities_as_torch(kernel, stride, padding, dilation, ceil_mode,
                                                   route_bins, block_bytes, torch, rng,
                                                   monkeypatch):
    """Many ties (values from {-1, 0, 1}), NaNs, -inf, all -inf windows: same values and the
    same arg-max indices as PyTorch, and the same routed gradient (whatever the blocks of
    channels of the max and the groups of planes of one routing)."""
    monkeypatch.setattr(maxima, "ROUTE_BINS", route_bins)
    monkeypatch.setattr(maxima, "BLOCK_BYTES", block_bytes)
    x = rng.integers(-1, 2, size=(2, 3, 13, 12)).astype(np.float64)
    x[0, 0, rng.integers(0, 13, 6), rng.integers(0, 12, 6)] = np.nan
    x[1, 1] = -np.inf
    x[1, 2, :5, :5] = -np.inf
    options = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                   ceil_mode=ceil_mode)
    y, indices = functional.max_pool2d(x, **options, return_indices=True)
    ty, tindices = torch.nn.functional.max_pool2d(torch.from_numpy(x), **options,
                                                  return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(indices, tindices.numpy())
    g = rng.standard_normal(y.shape)
    tx = torch.from_numpy(x).requires_grad_()
    torch.nn.functional.max_pool2d(tx, **options).backward(torch.from_numpy(g))
    np.testing.assert_allclose(functional.max_pool2d_backward(g, x, **options), tx.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("route_bins", [1, 500, maxima.ROUTE_BINS])  # a plane, some, all
def test_max_pool_backward_adds_as_torch_does(dims, route_bins, torch, rng, monkeypatch):
    """float32 errors routed to overlapping windows' arg-maxes (often the same position: x from
    {-1, 0, 1}) are added in the order of the outputs, in float32: PyTorch's CPU bits."""
    monkeypatch.setattr(maxima, "ROUTE_BINS", route_bins)
    x = rng.integers(-1, 2, size=(2, 3, *(11,) * dims)).astype(np.float32)
    options = dict(kernel_size=4, stride=2, padding=2, ceil_mode=True)
    pool, backward = (getattr(functional, f"max_pool{dims}d{suffix}")
                      for suffix in ("", "_backward"))
    y, indices = pool(x, **options, return_indices=True)
    g = rng.standard_normal(y.shape).astype(np.float32)
    tx = torch.from_numpy(x).requires_grad_()
    getattr(torch.nn.functional, f"max_pool{dims}d")(tx, **options).backward(torch.from_numpy(g))
    routed = backward(g, x, **options, indices=indices)
    assert routed.dtype == np.float32
    np.testing.assert_array_equal(routed, tx.grad.numpy())


@pytest.mark.parametrize("block_bytes", [1, 3000, maxima.BLOCK_BYTES])  # 1, 2 or 5 channels
@pytest.mark.parametrize("count_include_pad, ceil_mode", [(True, False), (False, True)])
def test_average_pool_in_blocks_of_channels(block_bytes, count_include_pad, ceil_mode, rng,
                                            monkeypatch):
    """The average and its gradient, computed in blocks of channels over the threads, are the
    reference's."""
    monkeypatch.setattr(maxima, "BLOCK_BYTES", block_bytes)
    x = rng.standard_normal((2, 5, 9, 8))
    options = dict(kernel_size=3, stride=2, padding=1, ceil_mode=ceil_mode,
                   count_include_pad=count_include_pad)
    y = functional.avg_pool2d(x, **options)
    assert_close(y, reference.avg_pool(x, **options), 1e-14)
    g = rng.standard_normal(y.shape)
    assert_close(functional.avg_pool2d_backward(g, x, **options),
                 reference.avg_pool_backward(g, x, **options), 1e-14)


def test_strided_sweep_covers_each_counted_tap_once():
    """Strided windows: the (output, input) pairs of the sweep are exactly the taps inside."""
    for n, o, k, s, p, d in [(7, 4, 3, 2, 1, 1), (5, 3, 2, 3, 1, 2), (9, 9, 3, 1, 2, 2)]:
        windows = maxima.Strided(n, o, k, s, p, d)
        seen = set()
        for t, outputs, inputs, _ in windows.sweep():
            positions = range(n)[inputs]
            pairs = list(zip(range(o)[outputs], positions))
            assert all(j == s * i - p + d * t for i, j in pairs)
            seen.update((i, t) for i, _ in pairs)
        expected = {(i, t) for i in range(o) for t in range(k) if 0 <= s * i - p + d * t < n}
        assert seen == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 7, 6), (40, 48, 7, 6)])  # the second over threads
def test_global_average_pool(dtype, shape, rng):
    x = rng.standard_normal(shape).astype(dtype)
    y = functional.adaptive_avg_pool2d(x, 1)
    assert y.dtype == dtype and y.shape == (*shape[:2], 1, 1)
    assert_close(y, x.astype(np.float64).mean(axis=(2, 3), keepdims=True),
                 1e-6 if dtype == np.float32 else 1e-14)
    g = rng.standard_normal(y.shape).astype(dtype)
    grad = functional.adaptive_avg_pool2d_backward(g, x)
    assert grad.dtype == dtype and grad.flags.c_contiguous
    assert_close(grad, np.broadcast_to(g.astype(np.float64) / 42, x.shape), 1e-6)


@given(st.integers(0, 40), st.integers(-3, 5), st.integers(1, 4), st.data())
def test_polyphase_component_read_from_x(length, low, step, data):
    """The slice holds exactly the x positions t with t + low = r (mod step), and component
    index j of the first one satisfies step·j + r = t + low."""
    residue = data.draw(st.integers(0, step - 1))
    positions, first = unfold.polyphase(residue, low, step)
    expected = [t for t in range(length) if (t + low) % step == residue]
    assert list(range(length)[positions]) == expected
    if expected:
        assert step * first + residue == expected[0] + low
