"""The public functional API on NumPy against the float64 oracle and against PyTorch on the CPU.

Every comparison uses the relative error max |actual - expected| / max |expected|: 1e-10 in
float64; float32 results are compared with the oracle in float64 on the same values within
1e-5 of the largest sum of |terms| (rounding.py), which cancellation cannot shrink.  PyTorch
has no asymmetric or mode padding inside its convolutions, so its side pads explicitly with
``torch.nn.functional.pad`` (whose pad tuple lists the last axis first) and convolves with
padding 0; transposed convolutions with a padding mode are compared with PyTorch's autograd
through that padded convolution, their definition.
"""

from __future__ import annotations

import functools
import inspect
import math
import re

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from convproof import functional, reference
from convproof.cpu import unfold
from convproof.spec import ConvSpec
from rounding import magnitude
from strategies import MAX_KERNEL, MAX_SIZE, OVERHANG, conv_cases, pool_cases

RTOL = 1e-10
FLOAT32_RTOL = 1e-5
TORCH_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                   "circular": "circular"}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def assert_close(actual, expected, rtol: float = RTOL, dtype=np.float64,
                 scale: float | None = None) -> None:
    """Same shape, the expected dtype, and max |actual - expected| <= rtol * scale, the scale
    max |expected| unless given."""
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.dtype == dtype, actual.dtype
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = np.abs(actual.astype(np.float64) - expected).max(initial=0.0)
    if scale is None:
        scale = np.abs(expected).max(initial=0.0)
    assert error <= rtol * scale, f"max abs error {error}, scale {scale}"


def assert_close_float32(actual, definition, *operands) -> None:
    """A float32 result within FLOAT32_RTOL of the float64 definition on the same values,
    relative to the sum of |terms| (see rounding.py)."""
    exact = [np.asarray(a, dtype=np.float64) for a in operands]
    assert_close(actual, definition(*exact), FLOAT32_RTOL, np.float32,
                 scale=magnitude(definition, *exact))


def api(name: str, dims: int):
    """functional.conv2d for api("conv{}d", 2)."""
    return getattr(functional, name.format(dims))


def torch_api(torch, name: str, dims: int):
    return getattr(torch.nn.functional, name.format(dims))


def tensor(torch, array, grad: bool = False):
    return torch.tensor(np.array(array), dtype=torch.float64, requires_grad=grad)  # a fresh copy


def torch_padded(torch, x, pads, mode: str):
    """x padded with explicit (lo, hi) pairs; F.pad lists the last axis first."""
    flat = [p for pair in reversed(pads) for p in pair]
    return torch.nn.functional.pad(x, flat, mode=TORCH_PAD_MODES[mode])


def torch_conv(torch, case, x, w, bias=None):
    """PyTorch's conv of ``case`` (any mode, asymmetric padding) on tensors x, w."""
    s = case.spec
    padded = torch_padded(torch, x, s.pads(case.size), s.padding_mode)
    return torch_api(torch, "conv{}d", s.dims)(padded, w, bias, stride=s.stride, padding=0,
                                               dilation=s.dilation, groups=s.groups)


def same_outcome(actual_call, expected_call, compare=assert_close, **check) -> None:
    """Both calls raise ValueError, or both return results that pass compare(actual,
    expected, **check)."""
    try:
        expected = expected_call()
    except ValueError:  # no output, a kernel that does not fit, a padding the input cannot carry
        with pytest.raises(ValueError):
            actual_call()
        return
    compare(actual_call(), expected, **check)


def random_bias(case, channels: int) -> np.ndarray:
    return np.random.default_rng(case.seed + 1).standard_normal(channels)


def transposed_kwargs(case) -> dict:
    s = case.spec
    return {"stride": s.stride, "padding": s.pads(case.size), "output_padding": s.output_padding,
            "groups": s.groups, "dilation": s.dilation, "padding_mode": s.padding_mode}


def pool_kwargs(spec) -> dict:
    return {"kernel_size": spec.kernel_size, "stride": spec.stride, "padding": spec.padding,
            "ceil_mode": spec.ceil_mode}


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["conv", "convolve"])
@settings(max_examples=300)
@given(case=conv_cases())
def test_conv_and_convolve_match_reference_and_torch(name, case, torch):
    x, w, b, _ = case.arrays()
    y = api(name + "{}d", case.dims)(x, w, b, **case.kwargs)
    assert_close(y, getattr(reference, name)(x, w, b, **case.kwargs))
    if name == "convolve":  # flip-equivalence: PyTorch correlates with the flipped kernel
        w = w[(Ellipsis, *(slice(None, None, -1),) * case.dims)]
    assert_close(y, torch_conv(torch, case, tensor(torch, x), tensor(torch, w),
                               tensor(torch, b)).numpy())


@settings(max_examples=400)
@given(case=conv_cases(output_padding=True))
def test_conv_transpose_matches_reference_and_torch(case, torch):
    _, w, _, x = case.arrays()
    b = random_bias(case, case.spec.in_channels)
    kwargs = transposed_kwargs(case)
    transpose = api("conv_transpose{}d", case.dims)
    try:
        expected = reference.conv_transpose(x, w, b, **kwargs)
    except ValueError:  # no output, or a padding the transposed output cannot carry
        with pytest.raises(ValueError):
            transpose(x, w, b, **kwargs)
        return
    y = transpose(x, w, b, **kwargs)
    assert_close(y, expected)
    # PyTorch: the adjoint of the padded conv through autograd, when that conv maps the output
    # size t back to the input size m (output_padding >= stride can break this)
    spec = case.spec
    size = y.shape[2:]
    if spec.output_size(size) == x.shape[2:]:
        z = torch.zeros((x.shape[0], spec.in_channels, *size), dtype=torch.float64,
                        requires_grad=True)
        padded = torch_padded(torch, z, kwargs["padding"], spec.padding_mode)
        forward = torch_api(torch, "conv{}d", case.dims)(
            padded, tensor(torch, w), stride=spec.stride, dilation=spec.dilation,
            groups=spec.groups)
        (grad,) = torch.autograd.grad(forward, z, tensor(torch, x))
        assert_close(y - b.reshape(-1, *(1,) * case.dims), grad.numpy())


@settings(max_examples=150)
@given(case=conv_cases(modes=("zeros",), output_padding=True))
def test_conv_transpose_matches_torch_conv_transpose(case, torch):
    """PyTorch's own transposed conv, padding 0 and cropped to the asymmetric padding."""
    _, w, _, x = case.arrays()
    b = random_bias(case, case.spec.in_channels)
    kwargs = transposed_kwargs(case)
    spec = case.spec
    full = torch_api(torch, "conv_transpose{}d", case.dims)(
        tensor(torch, x), tensor(torch, w), tensor(torch, b), stride=spec.stride,
        output_padding=spec.output_padding, groups=spec.groups, dilation=spec.dilation).numpy()
    crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(kwargs["padding"], full.shape[2:]))
    assume(all(c.start < c.stop for c in crop))
    y = api("conv_transpose{}d", case.dims)(x, w, b, **kwargs)
    assert_close(y, full[(Ellipsis, *crop)])


@settings(max_examples=400)
@given(case=conv_cases())
def test_conv_gradients_match_reference_and_autograd(case, torch):
    x, w, _, g = case.arrays()
    kwargs = case.kwargs
    grad_input = api("conv{}d_input", case.dims)(x.shape, w, g, **kwargs)
    grad_weight = api("conv{}d_weight", case.dims)(x, w.shape, g, **kwargs)
    assert_close(grad_input, reference.conv_input_grad(x.shape, w, g, **kwargs))
    assert_close(grad_weight, reference.conv_weight_grad(x, w.shape, g, **kwargs))
    x_t, w_t = tensor(torch, x, grad=True), tensor(torch, w, grad=True)
    expected = torch.autograd.grad(torch_conv(torch, case, x_t, w_t), (x_t, w_t),
                                   tensor(torch, g))
    assert_close(grad_input, expected[0].numpy())
    assert_close(grad_weight, expected[1].numpy())


@settings(max_examples=300)
@given(case=conv_cases())
def test_transposed_conv_is_the_adjoint(case):
    """<conv(x), g> = <x, conv_transpose(g)> for every padding mode."""
    x, w, _, g = case.arrays()
    spec = case.spec
    y = api("conv{}d", case.dims)(x, w, **case.kwargs)
    output_padding = spec.output_padding_for(spec.output_size(case.size), case.size)
    z = api("conv_transpose{}d", case.dims)(
        g, w, stride=spec.stride, padding=spec.pads(case.size), output_padding=output_padding,
        groups=spec.groups, dilation=spec.dilation, padding_mode=spec.padding_mode)
    scale = np.abs(y).ravel() @ np.abs(g).ravel() + np.abs(x).ravel() @ np.abs(z).ravel()
    assert abs(np.vdot(y, g) - np.vdot(x, z)) <= 1e-12 * scale


@st.composite
def string_padding_cases(draw):
    """A conv with padding "valid", "same" or "full", any stride, dilation and mode."""
    dims = draw(st.sampled_from((1, 2, 3)))
    kernel = tuple(draw(st.integers(1, MAX_KERNEL[dims])) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    size = tuple(draw(st.integers(1, MAX_SIZE[dims])) for _ in range(dims))
    spec = ConvSpec(draw(st.integers(1, 2)), draw(st.integers(1, 2)), kernel, stride=stride,
                    padding=draw(st.sampled_from(("valid", "same", "full"))), dilation=dilation,
                    padding_mode=draw(st.sampled_from(("zeros", "reflect", "replicate",
                                                       "circular"))))
    return spec, size, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=300)
@given(case=string_padding_cases())
def test_padding_strings(case):
    """"valid", "same" (output ceil(n/s) for any stride) and "full", forward and gradients."""
    spec, size, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, spec.in_channels, *size))
    w = rng.standard_normal(spec.weight_shape)
    kwargs = {"stride": spec.stride, "padding": spec.padding, "dilation": spec.dilation,
              "padding_mode": spec.padding_mode}
    conv = api("conv{}d", spec.dims)
    same_outcome(lambda: conv(x, w, **kwargs), lambda: reference.conv(x, w, **kwargs))
    try:
        y = conv(x, w, **kwargs)
    except ValueError:
        return
    if spec.padding == "same":
        assert y.shape[2:] == tuple(math.ceil(n / s) for n, s in zip(size, spec.stride))
    g = rng.standard_normal(y.shape)
    assert_close(api("conv{}d_input", spec.dims)(x.shape, w, g, **kwargs),
                 reference.conv_input_grad(x.shape, w, g, **kwargs))
    assert_close(api("conv{}d_weight", spec.dims)(x, w.shape, g, **kwargs),
                 reference.conv_weight_grad(x, w.shape, g, **kwargs))
    if spec.padding != "same" or all(s == 1 for s in spec.stride):
        same_outcome(lambda: api("conv_transpose{}d", spec.dims)(g, w, **kwargs),
                     lambda: reference.conv_transpose(g, w, **kwargs))


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------

@settings(max_examples=400)
@given(case=pool_cases())
@example(case=OVERHANG)
def test_max_pool_matches_reference_and_torch(case, torch):
    x, g = case.arrays()
    spec, dims = case.spec, len(case.size)
    kwargs = dict(pool_kwargs(spec), dilation=spec.dilation)
    y, indices = api("max_pool{}d", dims)(x, return_indices=True, **kwargs)
    expected, expected_indices = reference.max_pool(x, **kwargs)
    np.testing.assert_array_equal(y, expected)
    assert y.dtype == np.float64 and indices.dtype == np.int64
    np.testing.assert_array_equal(indices, expected_indices)
    grad = api("max_pool{}d_backward", dims)(g, x, **kwargs)
    assert_close(grad, reference.max_pool_backward(g, x, **kwargs), rtol=0)
    # PyTorch points a window without any input position (index -1 here) at no valid pixel
    assume((indices >= 0).all())
    x_t = tensor(torch, x, grad=True)
    y_t, indices_t = torch_api(torch, "max_pool{}d", dims)(x_t, return_indices=True, **kwargs)
    np.testing.assert_array_equal(y, y_t.detach().numpy())
    np.testing.assert_array_equal(indices, indices_t.numpy())
    (grad_t,) = torch.autograd.grad(y_t, x_t, tensor(torch, g))
    assert_close(grad, grad_t.numpy())


@settings(max_examples=400)
@given(case=pool_cases(dilation=False), count_include_pad=st.booleans())
@example(case=OVERHANG, count_include_pad=True)
@example(case=OVERHANG, count_include_pad=False)
def test_avg_pool_matches_reference_and_torch(case, count_include_pad, torch):
    x, g = case.arrays()
    dims = len(case.size)
    kwargs = dict(pool_kwargs(case.spec), count_include_pad=count_include_pad)
    y = api("avg_pool{}d", dims)(x, **kwargs)
    grad = api("avg_pool{}d_backward", dims)(g, x, **kwargs)
    assert_close(y, reference.avg_pool(x, **kwargs))
    assert_close(grad, reference.avg_pool_backward(g, x, **kwargs))
    if dims == 3 and any(n < k for n, k in zip(case.size, case.spec.kernel_size)):
        return  # PyTorch's avg_pool3d (only the 3-D one) refuses inputs smaller than the kernel
    x_t = tensor(torch, x, grad=True)
    y_t = torch_api(torch, "avg_pool{}d", dims)(x_t, **kwargs)
    assert_close(y, y_t.detach().numpy())
    (grad_t,) = torch.autograd.grad(y_t, x_t, tensor(torch, g))
    assert_close(grad, grad_t.numpy())


@st.composite
def adaptive_cases(draw):
    """Input shape and an output size that may not divide it, exceed it, or be None."""
    dims = draw(st.sampled_from((1, 2, 3)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)),
             *(draw(st.integers(1, MAX_SIZE[dims])) for _ in range(dims)))
    sizes = [draw(st.one_of(st.none(), st.integers(1, MAX_SIZE[dims] + 2))) for _ in range(dims)]
    output_size = sizes[0] if dims == 1 or draw(st.booleans()) else tuple(sizes)
    assume(output_size is not None)
    return shape, output_size, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=300)
@given(case=adaptive_cases())
def test_adaptive_pools_match_reference_and_torch(case, torch):
    shape, output_size, seed = case
    dims = len(shape) - 2
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = api("adaptive_avg_pool{}d", dims)(x, output_size)
    m, indices = api("adaptive_max_pool{}d", dims)(x, output_size, return_indices=True)
    g = rng.standard_normal(y.shape)
    grad_avg = api("adaptive_avg_pool{}d_backward", dims)(g, x)
    grad_max = api("adaptive_max_pool{}d_backward", dims)(g, x, output_size)
    assert_close(y, reference.adaptive_avg_pool(x, output_size))
    assert_close(grad_avg, reference.adaptive_avg_pool_backward(g, x))
    expected, expected_indices = reference.adaptive_max_pool(x, output_size)
    assert_close(m, expected, rtol=0)
    np.testing.assert_array_equal(indices, expected_indices)
    assert_close(grad_max, reference.adaptive_max_pool_backward(g, x, output_size), rtol=0)
    x_t = tensor(torch, x, grad=True)
    y_t = torch_api(torch, "adaptive_avg_pool{}d", dims)(x_t, output_size)
    m_t, indices_t = torch_api(torch, "adaptive_max_pool{}d", dims)(x_t, output_size,
                                                                    return_indices=True)
    assert_close(y, y_t.detach().numpy())
    assert_close(m, m_t.detach().numpy(), rtol=0)
    np.testing.assert_array_equal(indices, indices_t.numpy())
    grads_t = [torch.autograd.grad(out, x_t, tensor(torch, g))[0].numpy() for out in (y_t, m_t)]
    assert_close(grad_avg, grads_t[0])
    assert_close(grad_max, grads_t[1])


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_max_pool_ties_nan_and_infinity_follow_torch(dims, rng, torch):
    """Ties keep the first position in window order, a NaN wins (the last one), -inf is kept."""
    shape = (2, 3, *(7,) * dims)
    x = rng.integers(0, 3, size=shape).astype(np.float64)
    x[rng.random(shape) < 0.05] = np.nan
    x[rng.random(shape) < 0.1] = -np.inf
    windows = ({"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1, "ceil_mode": True},
               {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 2, "ceil_mode": False})
    for kwargs in windows:
        y, indices = api("max_pool{}d", dims)(x, return_indices=True, **kwargs)
        y_t, indices_t = torch_api(torch, "max_pool{}d", dims)(tensor(torch, x),
                                                               return_indices=True, **kwargs)
        np.testing.assert_array_equal(y, y_t.numpy())
        np.testing.assert_array_equal(indices, indices_t.numpy())
    y, indices = api("adaptive_max_pool{}d", dims)(x, 3, return_indices=True)
    y_t, indices_t = torch_api(torch, "adaptive_max_pool{}d", dims)(tensor(torch, x), 3,
                                                                    return_indices=True)
    np.testing.assert_array_equal(y, y_t.numpy())
    np.testing.assert_array_equal(indices, indices_t.numpy())


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_a_max_of_zero_is_the_zero_at_its_index(dims, rng):
    """0.0 and -0.0 tie; the max is the first of the window, sign included: y = x[index]
    bitwise, and in 1-D the first maximal tap of a loop over the window."""
    shape = (2, 3, *(6,) * dims)
    x = np.where(rng.random(shape) < 0.5, 0.0, -0.0)
    x[rng.random(shape) < 0.2] = -rng.random() - 0.5
    for y, indices in [api("max_pool{}d", dims)(x, 3, stride=2, padding=1, return_indices=True),
                       api("adaptive_max_pool{}d", dims)(x, 4, return_indices=True)]:
        planes = x.reshape(*x.shape[:2], -1)
        at_index = np.take_along_axis(planes, indices.reshape(*indices.shape[:2], -1), axis=2)
        np.testing.assert_array_equal(np.signbit(y), np.signbit(at_index.reshape(y.shape)))
    if dims == 1:
        y = api("max_pool{}d", 1)(x, 3, stride=2, padding=1)
        padded = np.pad(x, ((0, 0), (0, 0), (1, 1)), constant_values=-np.inf)
        for index in np.ndindex(y.shape):
            window = padded[index[0], index[1], 2 * index[2]:2 * index[2] + 3].tolist()
            first = next(v for v in window if v == max(window))
            assert math.copysign(1, y[index]) == math.copysign(1, first)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_numpy_subclasses_compute_as_plain_arrays(rng):
    """np.matrix (2-D, an unbatched 1-D signal) gives the plain array's result, as a plain
    array, in every argument."""
    x, g = rng.standard_normal((3, 8)), rng.standard_normal((3, 4))
    w, g_conv = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 7))
    calls = [lambda x, g, gc: functional.max_pool1d_backward(g, x, 2),
             lambda x, g, gc: functional.avg_pool1d_backward(g, x, 2),
             lambda x, g, gc: functional.adaptive_max_pool1d_backward(g, x, 4),
             lambda x, g, gc: functional.conv1d_weight(x, w.shape, gc),
             lambda x, g, gc: functional.conv1d(x, w)]
    for call in calls:
        plain = call(x, g, g_conv)
        result = call(np.matrix(x), np.matrix(g), np.matrix(g_conv))
        assert type(result) is np.ndarray
        np.testing.assert_array_equal(result, plain)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
@pytest.mark.parametrize("dims", [1, 2])
def test_saved_indices_of_numpy_subclasses(dims, rng):
    """``indices`` too: an np.matrix (an unbatched 1-D pooling's) routes as the plain array
    does; a masked array is refused by name, a masked entry out of range included."""
    x = rng.standard_normal((3, *(9,) * dims))
    for pool, backward, size in [("max_pool{}d", "max_pool{}d_backward", dict(kernel_size=2)),
                                 ("adaptive_max_pool{}d", "adaptive_max_pool{}d_backward",
                                  dict(output_size=4))]:
        y, indices = api(pool, dims)(x, **size, return_indices=True)
        g = rng.standard_normal(y.shape)
        call = functools.partial(api(backward, dims), g, x, **size)
        if dims == 1:
            result = call(indices=np.asmatrix(indices))
            assert type(result) is np.ndarray
            np.testing.assert_array_equal(result, call(indices=indices))
        first = np.zeros(indices.shape, bool)
        first[(0,) * indices.ndim] = True
        hiding = np.ma.array(np.where(first, 10**6, indices), mask=first)
        for masked in (np.ma.array(indices), hiding):
            with pytest.raises(TypeError, match=re.escape(
                    "indices is a masked array, whose mask convproof would ignore: "
                    "pass indices.filled(value) or indices.data")):
                call(indices=masked)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_a_max_pool_backward_routes_the_indices_its_forward_saved(dims, rng):
    """With the forward's indices the backward routes them, as finding the arg-max again does
    (ties included); indices of another shape, dtype or range are refused by name."""
    x = rng.integers(-2, 3, size=(2, 3, *(7,) * dims)).astype(np.float64)
    window = dict(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)
    y, indices = api("max_pool{}d", dims)(x, **window, return_indices=True)
    g = rng.standard_normal(y.shape)
    backward = api("max_pool{}d_backward", dims)
    np.testing.assert_array_equal(backward(g, x, **window, indices=indices),
                                  backward(g, x, **window))
    np.testing.assert_array_equal(backward(g[0], x[0], **window, indices=indices[0]),
                                  backward(g[0], x[0], **window))
    y, indices = api("adaptive_max_pool{}d", dims)(x, 4, return_indices=True)
    adaptive = api("adaptive_max_pool{}d_backward", dims)
    g = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(adaptive(g, x, 4, indices=indices), adaptive(g, x, 4))
    for bad, error, message in [
            (indices[:1], ValueError, "indices must have shape"),
            (indices.astype(np.float64), TypeError, "indices must be an integer array"),
            (indices.tolist(), TypeError, "returns, got list"),  # not "got None"
            (indices + 7**dims, ValueError, f"outside \\[-1, {7**dims}\\)"),
            (indices - 9**dims, ValueError, "outside \\[-1,")]:
        with pytest.raises(error, match=message):
            adaptive(g, x, 4, indices=bad)


# --------------------------------------------------------------------------------------------
# Unbatched inputs, dtypes
# --------------------------------------------------------------------------------------------

@settings(max_examples=100)
@given(case=conv_cases())
def test_unbatched_convolutions(case, torch):
    """(C, *n) inputs give the batched result without its batch axis, as in PyTorch."""
    x, w, b, g = case.arrays()
    spec, dims, kwargs = case.spec, case.dims, case.kwargs
    transposed = {"stride": spec.stride, "padding": spec.pads(case.size), "groups": spec.groups,
                  "dilation": spec.dilation}
    per_sample = {
        "conv": lambda x, g: api("conv{}d", dims)(x, w, b, **kwargs),
        "convolve": lambda x, g: api("convolve{}d", dims)(x, w, b, **kwargs),
        "conv_input": lambda x, g: api("conv{}d_input", dims)(x.shape, w, g, **kwargs),
        "conv_transpose": lambda x, g: api("conv_transpose{}d", dims)(g, w, **transposed),
    }
    for name, call in per_sample.items():
        try:
            batched = call(x[:1], g[:1])
        except ValueError:  # a transposed conv without output
            continue
        np.testing.assert_array_equal(call(x[0], g[0]), batched[0], err_msg=name)
    grad_weight = api("conv{}d_weight", dims)
    np.testing.assert_array_equal(grad_weight(x[0], w.shape, g[0], **kwargs),
                                  grad_weight(x[:1], w.shape, g[:1], **kwargs))
    expected = torch_conv(torch, case, tensor(torch, x[0]), tensor(torch, w), tensor(torch, b))
    assert_close(per_sample["conv"](x[0], g[0]), expected.numpy())


@settings(max_examples=100)
@given(case=pool_cases())
def test_unbatched_pools(case):
    """(C, *n) inputs of every pool and pool backward: the batched result without its batch axis."""
    x, _ = case.arrays()
    spec, dims = case.spec, len(case.size)
    max_kwargs = dict(pool_kwargs(spec), dilation=spec.dilation)
    avg_kwargs = pool_kwargs(spec)
    rng = np.random.default_rng(case.seed + 1)
    pools = [
        ("max_pool{}d", "max_pool{}d_backward", max_kwargs),
        ("avg_pool{}d", "avg_pool{}d_backward", avg_kwargs),
        ("adaptive_avg_pool{}d", "adaptive_avg_pool{}d_backward", {"output_size": 2}),
        ("adaptive_max_pool{}d", "adaptive_max_pool{}d_backward", {"output_size": 2}),
    ]
    for forward, backward, kwargs in pools:
        batched = api(forward, dims)(x[:1], **kwargs)
        np.testing.assert_array_equal(api(forward, dims)(x[0], **kwargs), batched[0])
        g = rng.standard_normal(batched.shape)
        if backward.startswith("adaptive_avg"):
            kwargs = {}
        np.testing.assert_array_equal(api(backward, dims)(g[0], x[0], **kwargs),
                                      api(backward, dims)(g, x[:1], **kwargs)[0])
    for name in ("max_pool{}d", "adaptive_max_pool{}d"):
        kwargs = max_kwargs if name == "max_pool{}d" else {"output_size": 2}
        for batched, unbatched in zip(api(name, dims)(x[:1], return_indices=True, **kwargs),
                                      api(name, dims)(x[0], return_indices=True, **kwargs)):
            np.testing.assert_array_equal(unbatched, batched[0])


@settings(max_examples=200)
@given(case=conv_cases(output_padding=True))
def test_float32_stays_float32(case):
    x, w, b, g = case.arrays(np.float32)
    kwargs, dims = case.kwargs, case.dims
    assert_close_float32(api("conv{}d", dims)(x, w, b, **kwargs),
                         lambda x, w, b: reference.conv(x, w, b, **kwargs), x, w, b)
    assert_close_float32(api("conv{}d_input", dims)(x.shape, w, g, **kwargs),
                         lambda w, g: reference.conv_input_grad(x.shape, w, g, **kwargs), w, g)
    assert_close_float32(api("conv{}d_weight", dims)(x, w.shape, g, **kwargs),
                         lambda x, g: reference.conv_weight_grad(x, w.shape, g, **kwargs), x, g)
    transposed = transposed_kwargs(case)
    g64, w64 = g.astype(np.float64), w.astype(np.float64)

    def definition(g, w):
        return reference.conv_transpose(g, w, **transposed)
    same_outcome(lambda: api("conv_transpose{}d", dims)(g, w, **transposed),
                 lambda: definition(g64, w64), rtol=FLOAT32_RTOL, dtype=np.float32,
                 compare=lambda actual, expected, **check: assert_close(
                     actual, expected, scale=magnitude(definition, g64, w64), **check))


@settings(max_examples=150)
@given(case=pool_cases(dilation=False))
def test_float32_pools(case):
    x, g = case.arrays(np.float32)
    x64 = x.astype(np.float64)
    dims, kwargs = len(case.size), pool_kwargs(case.spec)
    check = {"rtol": FLOAT32_RTOL, "dtype": np.float32}
    y, _indices = api("max_pool{}d", dims)(x, return_indices=True, **kwargs)
    assert_close(y, reference.max_pool(x64, **kwargs)[0], **check)
    assert_close_float32(api("max_pool{}d_backward", dims)(g, x, **kwargs),
                         lambda g: reference.max_pool_backward(g, x64, **kwargs), g)
    assert_close_float32(api("avg_pool{}d", dims)(x, **kwargs),
                         lambda x: reference.avg_pool(x, **kwargs), x)
    assert_close_float32(api("avg_pool{}d_backward", dims)(g, x, **kwargs),
                         lambda g: reference.avg_pool_backward(g, x64, **kwargs), g)
    assert_close_float32(api("adaptive_avg_pool{}d", dims)(x, 3),
                         lambda x: reference.adaptive_avg_pool(x, 3), x)
    assert_close(api("adaptive_max_pool{}d", dims)(x, 3), reference.adaptive_max_pool(x64, 3)[0],
                 **check)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("shape, output_size", [((2, 3, 7, 6), (4, 5)), ((2, 3, 9), 4),
                                                ((1, 2, 20, 20), (9, 9)),  # per-axis GEMMs
                                                ((1, 2, 5, 4, 6), (2, 3, 4))])
def test_adaptive_average_keeps_a_value_that_is_not_finite_in_its_windows(shape, output_size,
                                                                           value, rng):
    """Only the windows that hold it (forward), or the positions of its window (backward),
    are not finite, with the reference's inf or nan; a product with the zeros of the mean
    matrices would spread it over the plane."""
    dims = len(shape) - 2
    x = rng.standard_normal(shape)
    x[(0, 1, *(n // 2 for n in shape[2:]))] = value
    y = api("adaptive_avg_pool{}d", dims)(x, output_size)
    g = rng.standard_normal(y.shape)
    g[(-1, 0, *(o // 2 for o in y.shape[2:]))] = value
    grad = api("adaptive_avg_pool{}d_backward", dims)(g, x)
    for got, want in ((y, reference.adaptive_avg_pool(x, output_size)),
                      (grad, reference.adaptive_avg_pool_backward(g, x))):
        assert 0 < np.count_nonzero(~np.isfinite(want)) < want.size // 4
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
        assert_close(got[np.isfinite(want)], want[np.isfinite(want)])


def test_pool_options_in_the_forms_torch_takes(rng):
    """NumPy bools for the flags, an empty list for the default stride."""
    x = rng.standard_normal((2, 3, 7, 7))
    np.testing.assert_array_equal(functional.max_pool2d(x, 2, stride=[], ceil_mode=np.bool_(True)),
                                  functional.max_pool2d(x, 2, stride=None, ceil_mode=True))
    np.testing.assert_array_equal(
        functional.avg_pool2d(x, 3, stride=(), padding=1, ceil_mode=np.bool_(False),
                     count_include_pad=np.bool_(False)),
        functional.avg_pool2d(x, 3, padding=1, count_include_pad=False))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("empty", ["batch", "channels"])
def test_empty_batches_and_channels_give_empty_results(dims, empty, rng):
    """N = 0 (or C = 0 for pooling) gives the shape of a full call with that axis 0, as
    PyTorch does; the weight gradient of no samples is zero."""
    size = (5,) * dims
    x, g = rng.standard_normal((2, 3, *size)), rng.standard_normal((2, 4, *size))
    w, wt = rng.standard_normal((4, 3, *(3,) * dims)), rng.standard_normal((4, 3, *(3,) * dims))
    axis = 0 if empty == "batch" else 1
    cut = (slice(None),) * axis + (slice(0, 0),)

    def calls(x, g):
        pool = dict(kernel_size=2, stride=2, ceil_mode=True)
        pooled = api("max_pool{}d", dims)(x, **pool)
        adaptive = api("adaptive_avg_pool{}d", dims)(x, 3)
        results = [pooled, api("max_pool{}d_backward", dims)(pooled, x, **pool),
                   api("avg_pool{}d_backward", dims)(pooled, x, **pool), adaptive,
                   api("adaptive_avg_pool{}d_backward", dims)(adaptive, x),
                   api("adaptive_max_pool{}d", dims)(x, 3)]
        if empty == "batch":
            depthwise = w[:3, :1]
            grouped_1x1 = depthwise[(Ellipsis, *(slice(0, 1),) * dims)]
            results += [api("conv{}d", dims)(x, w, padding=1),
                        api("conv{}d", dims)(x, depthwise, padding=1, groups=3),
                        api("conv{}d", dims)(x, grouped_1x1, groups=3),
                        api("conv_transpose{}d", dims)(g, wt, padding=1),
                        api("conv{}d_input", dims)(x.shape, w, g, padding=1)]
        return results

    for full, none in zip(calls(x, g), calls(x[cut], g[cut])):
        expected = list(full.shape)
        expected[axis] = 0
        assert none.shape == tuple(expected)
    weight_grad = api("conv{}d_weight", dims)(x[:0], w.shape, g[:0], padding=1)
    np.testing.assert_array_equal(weight_grad, np.zeros(w.shape))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8])
def test_integer_inputs_are_computed_in_float64(dtype, rng):
    """Integers are converted exactly; small integer sums come out exact in float64."""
    low = 0 if np.dtype(dtype).kind == "u" else -4
    x = rng.integers(low, 5, size=(2, 4, 7, 6)).astype(dtype)
    w = rng.integers(low, 5, size=(6, 2, 3, 2)).astype(dtype)
    b = rng.integers(low, 5, size=6).astype(dtype)
    kwargs = {"stride": (2, 1), "padding": ((1, 0), (2, 1)), "groups": 2, "padding_mode": "reflect"}
    y = functional.conv2d(x, w, b, **kwargs)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, reference.conv(x, w, b, **kwargs))
    g = rng.integers(low, 5, size=y.shape).astype(dtype)
    np.testing.assert_array_equal(functional.conv2d_input(x.shape, w, g, **kwargs),
                                  reference.conv_input_grad(x.shape, w, g, **kwargs))
    np.testing.assert_array_equal(functional.conv2d_weight(x, w.shape, g, **kwargs),
                                  reference.conv_weight_grad(x, w.shape, g, **kwargs))
    pooled, indices = functional.max_pool2d(x, 3, 2, 1, return_indices=True)
    expected, expected_indices = reference.max_pool(x, 3, 2, 1)
    assert pooled.dtype == np.float64
    np.testing.assert_array_equal(pooled, expected)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(functional.avg_pool2d(x, 2), reference.avg_pool(x, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floats_of_the_other_byte_order_compute_as_their_native_twins(dtype, rng):
    """Arrays of the other byte order (big-endian on most machines) are computed in their
    precision, to the same bits as native arrays with the same values."""
    swapped = np.dtype(dtype).newbyteorder("S")
    x = rng.standard_normal((2, 4, 7, 6)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 2)).astype(dtype)
    g = rng.standard_normal((2, 6, 7, 7)).astype(dtype)
    kwargs = {"padding": 1, "groups": 2}
    for call in (lambda x, w, g: functional.conv2d(x, w, **kwargs),
                 lambda x, w, g: functional.conv2d_input(x.shape, w, g, **kwargs),
                 lambda x, w, g: functional.conv2d_weight(x, w.shape, g, **kwargs),
                 lambda x, w, g: functional.max_pool2d(x, 2)):
        native = call(x, w, g)
        other = call(*(a.astype(swapped) for a in (x, w, g)))
        assert other.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(other, native)


def test_mixed_precision_is_computed_in_float64(rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3))
    y = functional.conv2d(x, w, padding=1)
    assert y.dtype == np.float64
    assert_close(y, reference.conv(x, w, padding=1))


# --------------------------------------------------------------------------------------------
# Unfold blocks (bounded im2col buffers)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 700, 5000])
@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("side_by_side", [False, True])
def test_small_unfold_buffers_give_the_same_results(limit, dims, side_by_side, rng,
                                                    monkeypatch):
    """Blocks over the batch and over output rows (forced by a tiny limit, the unfold's and
    the cache-sized ones alike) change nothing, with one GEMM per sample or the samples side
    by side (unfold.side_by_side)."""
    monkeypatch.setattr(unfold, "SMALL_IMAGE", 10**9 if side_by_side else 0)
    monkeypatch.setattr(unfold, "GATHER_WEIGHT_BYTES", 0)
    size = {1: (23,), 2: (9, 8), 3: (6, 5, 5)}[dims]
    x = rng.standard_normal((3, 4, *size))
    w = rng.standard_normal((6, 2, *(3,) * dims))
    kwargs = {"stride": 2, "padding": 1, "dilation": 1, "groups": 2, "padding_mode": "circular"}
    y = functional.conv(x, w, **kwargs, dims=dims)
    g = rng.standard_normal(y.shape)
    results = (y, functional.conv_input(x.shape, w, g, **kwargs, dims=dims),
               functional.conv_weight(x, w.shape, g, **kwargs, dims=dims))
    monkeypatch.setattr(unfold, "UNFOLD_BUFFER_BYTES", limit)
    monkeypatch.setattr(unfold, "CACHED_BLOCK_BYTES", limit)
    blocked = (functional.conv(x, w, **kwargs, dims=dims),
               functional.conv_input(x.shape, w, g, **kwargs, dims=dims),
               functional.conv_weight(x, w.shape, g, **kwargs, dims=dims))
    for actual, expected in zip(blocked, results):
        assert_close(actual, expected, rtol=1e-13)
    assert_close(blocked[0], reference.conv(x, w, **kwargs))
    assert_close(blocked[1], reference.conv_input_grad(x.shape, w, g, **kwargs))
    assert_close(blocked[2], reference.conv_weight_grad(x, w.shape, g, **kwargs))


@settings(max_examples=200)
@given(st.integers(1, 9), st.lists(st.integers(1, 12), min_size=1, max_size=3),
       st.integers(1, 4000), st.integers(100, 5000), st.none() | st.integers(100, 5000))
def test_blocks_cover_everything_once_within_the_limit(batch, out_size, position_bytes, share,
                                                       limit):
    """Within UNFOLD_BUFFER_BYTES, and within the limit given."""
    bound = share if limit is None else min(share, limit)
    old, unfold.UNFOLD_BUFFER_BYTES = unfold.UNFOLD_BUFFER_BYTES, share
    try:
        covered = np.zeros((batch, out_size[0]), dtype=int)
        for samples, rows in unfold.blocks(batch, out_size, position_bytes, limit):
            covered[samples, rows] += 1
            positions = (samples.stop - samples.start) * (rows.stop - rows.start)
            row_bytes = position_bytes * math.prod(out_size[1:])
            assert positions * row_bytes <= bound or positions == 1
    finally:
        unfold.UNFOLD_BUFFER_BYTES = old
    assert (covered == 1).all()


# --------------------------------------------------------------------------------------------
# Signatures and documentation
# --------------------------------------------------------------------------------------------

CONV = ["input", "weight", "bias", "stride", "padding", "dilation", "groups", "padding_mode"]
TRANSPOSE = ["input", "weight", "bias", "stride", "padding", "output_padding", "groups",
             "dilation", "padding_mode"]
GRAD = ["stride", "padding", "dilation", "groups", "padding_mode"]
MAX_POOL = ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]
AVG_POOL = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"]
SIGNATURES = {
    "conv{}d": CONV, "convolve{}d": CONV, "conv_transpose{}d": TRANSPOSE,
    "conv{}d_input": ["input_size", "weight", "grad_output", *GRAD],
    "conv{}d_weight": ["input", "weight_size", "grad_output", *GRAD],
    "max_pool{}d": ["input", *MAX_POOL, "return_indices"],
    "avg_pool{}d": ["input", *AVG_POOL],
    "adaptive_avg_pool{}d": ["input", "output_size"],
    "adaptive_max_pool{}d": ["input", "output_size", "return_indices"],
    "max_pool{}d_backward": ["grad_output", "input", *MAX_POOL, "indices"],
    "avg_pool{}d_backward": ["grad_output", "input", *AVG_POOL],
    "adaptive_avg_pool{}d_backward": ["grad_output", "input"],
    "adaptive_max_pool{}d_backward": ["grad_output", "input", "output_size", "indices"],
}


@pytest.mark.parametrize("template", sorted(SIGNATURES))
def test_public_signatures_and_docstrings(template):
    for dims in (1, 2, 3):
        function = api(template, dims)
        assert function.__name__ == template.format(dims)
        assert list(inspect.signature(function).parameters) == SIGNATURES[template]
        assert function.__doc__.startswith(f"{dims}-D ")
        assert function.__name__ in functional.__all__
        assert "=" in function.__doc__.split("\n\n")[1]  # the formula follows the first line


# --------------------------------------------------------------------------------------------
# Strides, dilations and kernels far beyond the input: the work is that of the output
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stride", [1000, 10**6, 2**63])
def test_a_depthwise_stride_beyond_the_input_reads_one_window(stride, rng):
    """One output per axis: y = Σ_m w[m] x[d m - p].  The depthwise path made one polyphase
    component per residue of the stride (10^6 in 3-D: MemoryError; 1000 in 2-D: 6 s)."""
    x, w = rng.standard_normal((2, 2, 4, 5, 3)), rng.standard_normal((4, 1, 3, 3, 3))
    y = functional.conv3d(x, w, stride=stride, padding=1, groups=2)
    g = rng.standard_normal(y.shape)
    assert_close(y, reference.conv(x, w, stride=3, padding=1, groups=2)[..., :1, :1, :1])
    x_pad = np.pad(x, [(0, 0)] * 2 + [(1, 1)] * 3)[..., :3, :3, :3]  # the one window
    windows = np.repeat(x_pad, 2, axis=1)  # output channel o reads input channel o // 2
    assert_close(functional.conv3d_weight(x, w.shape, g, stride=stride, padding=1, groups=2),
                 np.einsum("bo,bomnl->omnl", g[..., 0, 0, 0], windows)[:, None])
    dx = np.zeros_like(np.pad(x, [(0, 0)] * 2 + [(1, 1)] * 3))
    dx[..., :3, :3, :3] = np.einsum("bo,omnl->bomnl", g[..., 0, 0, 0], w[:, 0]).reshape(
        2, 2, 2, 3, 3, 3).sum(axis=2)
    assert_close(functional.conv3d_input(x.shape, w, g, stride=stride, padding=1, groups=2),
                 dx[..., 1:-1, 1:-1, 1:-1])


@pytest.mark.parametrize("dilation", [10**4, 2**40])
def test_a_same_conv_dilated_far_beyond_the_input_reads_its_centre_tap(dilation, rng):
    """'same' pads d on each side: only the centre tap w[..., 1, 1] meets x.  The stride-1
    3x3 path visited d² phases (10^4: 40 s; 2^40: MemoryError)."""
    x, w = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((5, 3, 3, 3))
    y = functional.conv2d(x, w, padding="same", dilation=dilation)
    g = rng.standard_normal(y.shape)
    centre = w[:, :, 1, 1]
    assert_close(y, np.einsum("oc,bcij->boij", centre, x))
    assert_close(functional.conv2d_input(x.shape, w, g, padding="same", dilation=dilation),
                 np.einsum("oc,boij->bcij", centre, g))
    expected = np.zeros(w.shape)  # the other taps read only zeros (Winograd: up to rounding)
    expected[:, :, 1, 1] = np.einsum("boij,bcij->oc", g, x)
    assert_close(functional.conv2d_weight(x, w.shape, g, padding="same", dilation=dilation),
                 expected)


@pytest.mark.parametrize("stride", [2**40, 2**63])
def test_pooling_with_a_stride_beyond_the_input_has_one_window(stride, rng):
    """Max pooling made one phase per residue of the stride (a hang at 2^40), average pooling
    multiplied the stride into int64 starts (OverflowError at 2^63)."""
    x = rng.standard_normal((2, 3, 5, 6))
    corner = x[:, :, :2, :2].reshape(2, 3, 4)
    y, indices = functional.max_pool2d(x, 2, stride, return_indices=True)
    assert_close(y[..., 0, 0], corner.max(axis=2))
    assert np.array_equal(indices[..., 0, 0], np.array([0, 1, 6, 7])[corner.argmax(axis=2)])
    g = rng.standard_normal(y.shape)
    routed = np.zeros_like(x)
    np.put_along_axis(routed.reshape(2, 3, 30), indices.reshape(2, 3, 1), g.reshape(2, 3, 1),
                      axis=2)
    for saved in (None, indices):
        assert_close(functional.max_pool2d_backward(g, x, 2, stride, indices=saved), routed)
    assert_close(functional.avg_pool2d(x, 2, stride)[..., 0, 0], corner.mean(axis=2))
    spread = np.zeros_like(x)
    spread[..., :2, :2] = g / 4
    assert_close(functional.avg_pool2d_backward(g, x, 2, stride), spread)


def test_a_max_pool_kernel_far_wider_than_the_input_visits_only_its_taps_inside(rng):
    """Kernel 2^41 padded by 2^40: every window holds the whole input, so each output is the
    plane's max at its first position; the taps were visited one by one (2^41 of them)."""
    x = rng.standard_normal((2, 3, 5, 6))
    y, indices = functional.max_pool2d(x, 2**41, 1, 2**40, return_indices=True)
    planes = x.reshape(2, 3, 30)
    assert y.shape == (2, 3, 6, 7)
    assert_close(y, np.broadcast_to(planes.max(axis=2)[..., None, None], y.shape))
    assert np.array_equal(indices, np.broadcast_to(planes.argmax(axis=2)[..., None, None],
                                                   y.shape))


def test_an_adaptive_pooling_of_more_outputs_than_its_windows_can_list_is_refused():
    """output_size 2^40 listed its windows in Python until memory ran out."""
    x = np.ones((1, 1, 7, 6))
    for pool in (functional.adaptive_avg_pool2d, functional.adaptive_max_pool2d):
        with pytest.raises(ValueError, match="output_size 1099511627776 exceeds the 16777216"):
            pool(x, 2**40)
