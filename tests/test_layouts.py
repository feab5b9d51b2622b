"""The functional API does not depend on the memory layout of its arrays.

Every array argument is passed again as a view with negative strides, as a strided slice of a
larger array (whose gaps hold NaN, so a read outside the view would show), and in Fortran
order; the result must equal, bit for bit, the result for C-contiguous copies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convproof import functional
from strategies import conv_cases


def negative_strides(a: np.ndarray) -> np.ndarray:
    """The same values, stored backwards along every axis."""
    backwards = (slice(None, None, -1),) * a.ndim
    return np.ascontiguousarray(a[backwards])[backwards]


def strided_slice(a: np.ndarray) -> np.ndarray:
    """The same values as every other element of a larger NaN-filled array."""
    holder = np.full(tuple(2 * n + 1 for n in a.shape), np.nan, dtype=a.dtype)
    view = holder[(slice(1, None, 2),) * a.ndim]
    view[...] = a
    return view


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "negative_strides": negative_strides, "strided_slice": strided_slice,
    "fortran": np.asfortranarray,
}


def test_layouts_hold_the_same_values(rng):
    a = rng.standard_normal((2, 3, 4, 5))
    for name, layout in LAYOUTS.items():
        b = layout(a)
        assert not b.flags.c_contiguous, name
        np.testing.assert_array_equal(b, a)


def operations(dims: int, rng: np.random.Generator) -> dict[str, tuple[Callable, dict]]:
    """name -> (function of named arrays, the C-contiguous arrays), for ``dims`` spatial dims."""
    size = {1: (11,), 2: (7, 6), 3: (5, 4, 5)}[dims]
    conv = {"stride": 2, "padding": 1, "dilation": 1, "groups": 2}
    x = rng.standard_normal((2, 4, *size))
    w = rng.standard_normal((6, 2, *(3,) * dims))
    b = rng.standard_normal(6)
    y = functional.conv(x, w, **conv, dims=dims)
    g = rng.standard_normal(y.shape)
    bt = rng.standard_normal(4)
    pool = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    pooled = functional.max_pool(x, **pool, dims=dims)
    gp = rng.standard_normal(pooled.shape)
    ga = rng.standard_normal((2, 4, *(3,) * dims))

    def call(name: str, **kwargs):
        return lambda **arrays: getattr(functional, name)(**arrays, **kwargs, dims=dims)

    return {
        "conv": (call("conv", **conv), {"input": x, "weight": w, "bias": b}),
        "conv_reflect": (call("conv", **conv, padding_mode="reflect"), {"input": x, "weight": w}),
        "convolve": (call("convolve", **conv, padding_mode="circular"),
                     {"input": x, "weight": w, "bias": b}),
        "conv_transpose": (call("conv_transpose", **conv, output_padding=1),
                           {"input": g, "weight": w, "bias": bt}),
        "conv_transpose_replicate": (call("conv_transpose", **conv, padding_mode="replicate"),
                                     {"input": g, "weight": w}),
        "conv_input": (call("conv_input", input_size=x.shape, **conv, padding_mode="circular"),
                       {"weight": w, "grad_output": g}),
        "conv_weight": (call("conv_weight", weight_size=w.shape, **conv,
                             padding_mode="reflect"), {"input": x, "grad_output": g}),
        "max_pool": (call("max_pool", **pool, dilation=1, return_indices=True), {"input": x}),
        "max_pool_backward": (call("max_pool_backward", **pool), {"input": x, "grad_output": gp}),
        "avg_pool": (call("avg_pool", **pool, count_include_pad=False), {"input": x}),
        "avg_pool_backward": (call("avg_pool_backward", **pool), {"input": x, "grad_output": gp}),
        "adaptive_avg_pool": (call("adaptive_avg_pool", output_size=3), {"input": x}),
        "adaptive_avg_pool_backward": (call("adaptive_avg_pool_backward"),
                                       {"input": x, "grad_output": ga}),
        "adaptive_max_pool": (call("adaptive_max_pool", output_size=3, return_indices=True),
                              {"input": x}),
        "adaptive_max_pool_backward": (call("adaptive_max_pool_backward", output_size=3),
                                       {"input": x, "grad_output": ga}),
    }


OPERATIONS = sorted(operations(1, np.random.default_rng(0)))


def assert_identical(actual, expected) -> None:
    """Equal bit for bit: one array, or a (values, indices) pair."""
    actual, expected = (r if isinstance(r, tuple) else (r,) for r in (actual, expected))
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", OPERATIONS)
@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_argument_in_every_layout(dims, name, layout, dtype, rng):
    function, arrays = operations(dims, rng)[name]
    arrays = {key: a.astype(dtype) for key, a in arrays.items()}
    expected = function(**arrays)
    for key in arrays:
        changed = dict(arrays, **{key: LAYOUTS[layout](arrays[key])})
        assert_identical(function(**changed), expected)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_a_flipped_kernel_view(dims, rng):
    """conv with w[..., ::-1, ::-1] (a negative-stride view) equals conv with its copy and the
    true convolution with w."""
    x = rng.standard_normal((2, 3, *(6,) * dims))
    w = rng.standard_normal((4, 3, *(3,) * dims))
    flipped = w[(Ellipsis, *(slice(None, None, -1),) * dims)]
    y = functional.conv(x, flipped, padding=1, dims=dims)
    np.testing.assert_array_equal(y, functional.conv(x, np.ascontiguousarray(flipped), padding=1,
                                                     dims=dims))
    np.testing.assert_array_equal(y, functional.convolve(x, w, padding=1, dims=dims))


@settings(max_examples=150)
@given(case=conv_cases(), layouts=st.lists(st.sampled_from(sorted(LAYOUTS)), min_size=3,
                                           max_size=3))
def test_random_convolutions_in_random_layouts(case, layouts):
    """Forward and both gradients, with input, weight and grad_output laid out at random."""
    x, w, b, g = case.arrays()
    dims, kwargs = case.dims, case.kwargs
    x2, w2, g2 = (LAYOUTS[name](a) for name, a in zip(layouts, (x, w, g)))
    pairs = [
        (functional.conv(x2, w2, b, **kwargs, dims=dims),
         functional.conv(x, w, b, **kwargs, dims=dims)),
        (functional.conv_input(x.shape, w2, g2, **kwargs, dims=dims),
         functional.conv_input(x.shape, w, g, **kwargs, dims=dims)),
        (functional.conv_weight(x2, w.shape, g2, **kwargs, dims=dims),
         functional.conv_weight(x, w.shape, g, **kwargs, dims=dims)),
    ]
    for actual, expected in pairs:
        assert_identical(actual, expected)
