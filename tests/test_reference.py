"""The float64 oracle against PyTorch (CPU, float64) and against its own exact identities.

PyTorch has no asymmetric or mode padding inside its convolutions, so its side pads explicitly
with ``torch.nn.functional.pad`` (whose pad tuple lists the last axis first) and convolves with
padding 0; its transposed convolutions take symmetric padding only, so its side is computed
with padding 0 and cropped.  Every comparison uses the relative error
max |actual - expected| / max |expected|.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

from convproof import reference
from convproof.spec import PADDING_MODES
from strategies import MAX_SIZE, conv_cases, pool_cases

RTOL = 1e-10
TORCH_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                   "circular": "circular"}
NUMPY_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                   "circular": "wrap"}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def examples(count: int) -> int:
    """``count`` examples, or more where the hypothesis profile asks for more ("thorough")."""
    return max(count, settings.default.max_examples)


def assert_close(actual: np.ndarray, expected, rtol: float = RTOL) -> None:
    """max |actual - expected| <= rtol * max |expected| (exact equality when expected is 0)."""
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.dtype == np.float64
    assert actual.shape == expected.shape
    error = np.abs(actual - expected).max(initial=0.0)
    assert error <= rtol * np.abs(expected).max(initial=0.0), f"max abs error {error}"


def assert_same_inner(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> None:
    """<a, b> = <c, d> up to rounding, relative to sum |a||b| (the size of the terms)."""
    assert a.shape == b.shape and c.shape == d.shape
    scale = np.abs(a).ravel() @ np.abs(b).ravel()
    assert abs(np.vdot(a, b) - np.vdot(c, d)) <= 1e-12 * scale


def tensor(torch, array: np.ndarray, grad: bool = False):
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


def torch_pad(torch, x, pads, mode: str):
    """F.pad with explicit (lo, hi) pads; F.pad lists the last axis first."""
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]
    return torch.nn.functional.pad(x, flat, mode=TORCH_PAD_MODES[mode])


def torch_function(torch, name: str, dims: int):
    return getattr(torch.nn.functional, f"{name}{dims}d")


def flip(w: np.ndarray) -> np.ndarray:
    """Reverse every spatial axis of a weight, channel axes untouched."""
    return w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)]


def transposed_kwargs(case, output_padding) -> dict:
    spec = case.spec
    return {"stride": spec.stride, "padding": spec.pads(case.size),
            "output_padding": output_padding, "groups": spec.groups, "dilation": spec.dilation,
            "padding_mode": spec.padding_mode}


def pool_args(spec) -> tuple:
    return spec.kernel_size, spec.stride, spec.padding


# --------------------------------------------------------------------------------------------
# Convolution against PyTorch
# --------------------------------------------------------------------------------------------

@settings(max_examples=examples(1200))
@given(case=conv_cases())
def test_conv_matches_torch(torch, case):
    x, w, b, _ = case.arrays()
    spec = case.spec
    y = reference.conv(x, w, b, **case.kwargs)
    x_pad = torch_pad(torch, tensor(torch, x), spec.pads(case.size), spec.padding_mode)
    expected = torch_function(torch, "conv", case.dims)(
        x_pad, tensor(torch, w), tensor(torch, b), spec.stride, 0, spec.dilation, spec.groups)
    assert_close(y, expected.numpy())


@settings(max_examples=examples(1000))
@given(case=conv_cases())
def test_conv_gradients_match_torch_autograd(torch, case):
    x, w, b, g = case.arrays()
    spec = case.spec
    xt, wt, bt = (tensor(torch, a, grad=True) for a in (x, w, b))
    y = torch_function(torch, "conv", case.dims)(
        torch_pad(torch, xt, spec.pads(case.size), spec.padding_mode), wt, bt,
        spec.stride, 0, spec.dilation, spec.groups)
    y.backward(tensor(torch, g))
    assert_close(reference.conv_input_grad(x.shape, w, g, **case.kwargs), xt.grad.numpy())
    assert_close(reference.conv_weight_grad(x, w.shape, g, **case.kwargs), wt.grad.numpy())
    assert_close(reference.conv_bias_grad(g), bt.grad.numpy())


@settings(max_examples=examples(1000))
@given(case=conv_cases(modes=("zeros",), output_padding=True))
def test_conv_transpose_matches_torch(torch, case):
    _, w, _, g = case.arrays()
    spec = case.spec
    m = case.output_shape[2:]
    try:
        size = spec.transposed_output_size(m)
    except ValueError:  # the padding leaves the transposed conv no output at all
        reject()
    bias = np.random.default_rng(case.seed + 1).standard_normal(spec.in_channels)
    z = reference.conv_transpose(g, w, bias, **transposed_kwargs(case, spec.output_padding))
    full = torch_function(torch, "conv_transpose", case.dims)(
        tensor(torch, g), tensor(torch, w), tensor(torch, bias), spec.stride, 0,
        spec.output_padding, spec.groups, spec.dilation).numpy()
    crop = tuple(slice(lo, lo + t) for (lo, _), t in zip(spec.pads(case.size), size))
    assert_close(z, full[(Ellipsis, *crop)])


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@settings(max_examples=examples(300))
@given(case=conv_cases(modes=("zeros",), max_stride=1))
def test_same_padding_matches_torch(torch, case):
    """padding="same" at stride 1: total d(k - 1), the odd pixel at the end, as PyTorch."""
    x, w, b, _ = case.arrays()
    spec = case.spec
    y = reference.conv(x, w, b, padding="same", dilation=spec.dilation, groups=spec.groups)
    expected = torch_function(torch, "conv", case.dims)(
        tensor(torch, x), tensor(torch, w), tensor(torch, b), 1, "same", spec.dilation,
        spec.groups)
    assert_close(y, expected.numpy())


# --------------------------------------------------------------------------------------------
# Pooling against PyTorch (forward and autograd backward)
# --------------------------------------------------------------------------------------------

@settings(max_examples=examples(1000))
@given(case=pool_cases())
def test_max_pool_matches_torch(torch, case):
    x, g = case.arrays()
    spec = case.spec
    args = (*pool_args(spec), spec.dilation, spec.ceil_mode)
    y, index = reference.max_pool(x, *args)
    xt = tensor(torch, x, grad=True)
    yt, index_t = torch_function(torch, "max_pool", spec.dims)(xt, *args, return_indices=True)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    assert index.dtype == np.int64
    inside = index >= 0  # a window wholly in the padding (dilation) has no position: -1
    np.testing.assert_array_equal(index[inside], index_t.numpy()[inside])
    assert np.all(y[~inside] == -np.inf)
    assume(inside.all())  # PyTorch's index for such a window points outside the input
    yt.backward(tensor(torch, g))
    assert_close(reference.max_pool_backward(g, x, *args), xt.grad.numpy())


@settings(max_examples=examples(1000))
@given(case=pool_cases(dilation=False), count_include_pad=st.booleans())
def test_avg_pool_matches_torch(torch, case, count_include_pad):
    x, g = case.arrays()
    spec = case.spec
    # PyTorch's avg_pool3d (only the 3-D one) refuses inputs smaller than the kernel
    assume(spec.dims < 3 or all(n >= k for n, k in zip(case.size, spec.kernel_size)))
    args = (*pool_args(spec), spec.ceil_mode, count_include_pad)
    xt = tensor(torch, x, grad=True)
    yt = torch_function(torch, "avg_pool", spec.dims)(xt, *args)
    assert_close(reference.avg_pool(x, *args), yt.detach().numpy())
    yt.backward(tensor(torch, g))
    assert_close(reference.avg_pool_backward(g, x, *args), xt.grad.numpy())


@st.composite
def adaptive_cases(draw):
    """(input, output_size argument, resolved output size, output gradient): sizes that do not
    divide the input, larger than it, None entries (keep the input size), or one int."""
    dims = draw(st.sampled_from((1, 2, 3)))
    size = tuple(draw(st.integers(1, MAX_SIZE[dims])) for _ in range(dims))
    out = tuple(draw(st.integers(1, n + 2)) for n in size)
    if draw(st.booleans()):
        argument = out[0]
        out = (out[0],) * dims
    else:
        argument = tuple(None if draw(st.booleans()) else o for o in out)
        out = tuple(n if a is None else a for a, n in zip(argument, size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    x = rng.standard_normal((batch, channels, *size))
    return x, argument, out, rng.standard_normal((batch, channels, *out))


@settings(max_examples=examples(500))
@given(case=adaptive_cases())
def test_adaptive_avg_pool_matches_torch(torch, case):
    x, argument, out, g = case
    xt = tensor(torch, x, grad=True)
    yt = torch_function(torch, "adaptive_avg_pool", x.ndim - 2)(xt, out)
    assert_close(reference.adaptive_avg_pool(x, argument), yt.detach().numpy())
    yt.backward(tensor(torch, g))
    assert_close(reference.adaptive_avg_pool_backward(g, x), xt.grad.numpy())


@settings(max_examples=examples(500))
@given(case=adaptive_cases())
def test_adaptive_max_pool_matches_torch(torch, case):
    x, argument, out, g = case
    xt = tensor(torch, x, grad=True)
    yt, index_t = torch_function(torch, "adaptive_max_pool", x.ndim - 2)(xt, out, True)
    y, index = reference.adaptive_max_pool(x, argument)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(index, index_t.numpy())
    yt.backward(tensor(torch, g))
    assert_close(reference.adaptive_max_pool_backward(g, x, argument), xt.grad.numpy())


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_max_pool_ties_and_nan_match_torch(torch, rng, dims):
    """Ties keep the first position in row-major window order; NaN wins (PyTorch's rule)."""
    x = rng.integers(-2, 3, size=(2, 3) + (6,) * dims).astype(np.float64)
    x.ravel()[rng.choice(x.size, size=x.size // 10, replace=False)] = np.nan
    xt = tensor(torch, x)
    cases = [("max_pool", (3, 2, 1, 1, True)), ("max_pool", (2, 1, 0, 2, False)),
             ("adaptive_max_pool", (4,))]
    for name, args in cases:
        y, index = getattr(reference, name)(x, *args)
        yt, index_t = torch_function(torch, name, dims)(xt, *args, return_indices=True)
        np.testing.assert_array_equal(y, yt.numpy())
        np.testing.assert_array_equal(index, index_t.numpy())


# --------------------------------------------------------------------------------------------
# Exact identities (no PyTorch)
# --------------------------------------------------------------------------------------------

@settings(max_examples=examples(1000))
@given(case=conv_cases())
def test_bilinear_identities(case):
    """<conv(x, w), g> = <x, convT(g)> = <x, dL/dx> = <w, dL/dw>, and <bias, dL/db> likewise.

    The transposed conv gets the output_padding that restores the input size, for every
    padding mode (the adjoint definition of the transposed conv).
    """
    x, w, b, g = case.arrays()
    spec = case.spec
    y = reference.conv(x, w, **case.kwargs)
    a = spec.output_padding_for(case.output_shape[2:], case.size)
    z = reference.conv_transpose(g, w, **transposed_kwargs(case, a))
    assert_same_inner(y, g, x, z)
    grad_x = reference.conv_input_grad(x.shape, w, g, **case.kwargs)
    np.testing.assert_array_equal(grad_x, z)
    grad_w = reference.conv_weight_grad(x, w.shape, g, **case.kwargs)
    assert_same_inner(y, g, w, grad_w)
    biased = reference.conv(x, w, b, **case.kwargs)
    assert_same_inner(biased - y, g, b, reference.conv_bias_grad(g))


@settings(max_examples=examples(500))
@given(case=conv_cases())
def test_convolve_is_conv_with_flipped_kernel(case):
    x, w, b, _ = case.arrays()
    assert_close(reference.convolve(x, w, b, **case.kwargs),
                 reference.conv(x, flip(w), b, **case.kwargs), rtol=1e-13)


@st.composite
def pad_cases(draw):
    dims = draw(st.sampled_from((1, 2, 3)))
    mode = draw(st.sampled_from(PADDING_MODES))
    size = tuple(draw(st.integers(1, MAX_SIZE[dims])) for _ in range(dims))
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 4)
    pads = tuple((draw(st.integers(0, min(4, limit(n)))), draw(st.integers(0, min(4, limit(n)))))
                 for n in size)
    return size, pads, mode, draw(st.integers(0, 2**32 - 1))


@settings(max_examples=examples(500))
@given(case=pad_cases())
def test_pad_matches_numpy_and_pad_adjoint_is_its_transpose(case):
    """pad agrees with np.pad (an independent implementation) and <P x, g> = <x, P^T g>."""
    size, pads, mode, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, *size))
    x_pad = reference.pad(x, pads, mode)
    np.testing.assert_array_equal(x_pad, np.pad(x, ((0, 0), (0, 0), *pads), NUMPY_PAD_MODES[mode]))
    g = rng.standard_normal(x_pad.shape)
    assert_same_inner(x_pad, g, x, reference.pad_adjoint(g, pads, mode, size))


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_gives_ceil_of_size_over_stride(rng, stride):
    for n, k, d in [(1, 1, 1), (5, 3, 1), (6, 3, 1), (7, 3, 2), (8, 4, 1), (9, 5, 2), (4, 5, 1)]:
        x = rng.standard_normal((1, 2, n, n + 1))
        w = rng.standard_normal((3, 2, k, k))
        y = reference.conv(x, w, stride=stride, padding="same", dilation=d)
        assert y.shape == (1, 3, math.ceil(n / stride), math.ceil((n + 1) / stride))


def test_transposed_conv_with_padding_mode_folds_the_border(rng):
    """The adjoint of the reflect-padded 1-D conv, written out: scatter, then P^T."""
    g = rng.standard_normal((1, 1, 4))
    w = rng.standard_normal((1, 1, 3))
    z = reference.conv_transpose(g, w, padding=1, padding_mode="reflect")
    z_pad = np.zeros(6)
    for i in range(4):
        z_pad[i:i + 3] += w[0, 0] * g[0, 0, i]
    # x_pad = (x1, x0, x1, x2, x3, x2): border j = 0 came from x1, j = 5 from x2
    expected = z_pad[1:5] + np.array([0, z_pad[0], z_pad[5], 0])
    assert_close(z[0, 0], expected, rtol=1e-14)


def test_integer_inputs_are_computed_in_float64(rng):
    x = rng.integers(-9, 10, size=(2, 3, 6, 5))
    w = rng.integers(-9, 10, size=(4, 3, 2, 2))
    y = reference.conv(x, w)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, reference.conv(x.astype(np.float64), w.astype(np.float64)))
    assert reference.avg_pool(x.astype(np.int32), 2).dtype == np.float64


@pytest.mark.parametrize("infinite, size, padding, dilation",
                         [("x", 3, 1, 1), ("grad_output", 3, 1, 1), ("grad_output", 2, 1, 3)])
def test_weight_grad_sums_every_term_inf_times_zero_included(rng, infinite, size, padding,
                                                               dilation):
    """gw[o, m] = Σ_i g[o, i] x_pad[i + d m] term by term, as Python's floats multiply: an
    infinite entry against a zero of the padding or of the other operand is a nan term (a BLAS
    product may skip the terms that multiply a zero: the second geometry's did)."""
    kernel = 2
    outputs = size + 2 * padding - dilation * (kernel - 1)
    x = rng.uniform(0.5, 2.0, size=(1, 1, size))
    g = rng.uniform(0.5, 2.0, size=(1, 2, outputs))
    x[0, 0, -1], g[0, 1, 0] = 0.0, 0.0
    (x if infinite == "x" else g)[0, 0, 0] = math.inf
    x_pad, terms = [0.0] * padding + x[0, 0].tolist() + [0.0] * padding, g[0].tolist()
    expected = [[math.fsum(terms[o][i] * x_pad[i + dilation * m] for i in range(outputs))
                 for m in range(kernel)] for o in range(2)]
    assert np.isnan(expected).any()
    grad = reference.conv_weight_grad(x, (2, 1, kernel), g, padding=padding, dilation=dilation)
    np.testing.assert_array_equal(grad[:, 0], expected)


def test_max_pool_backward_that_routes_nothing_is_float64(rng, torch):
    """An empty batch, or a max pool whose one window lies in the padding (dilation), routes
    no gradient: the result is float64 zeros (np.bincount of nothing is int64).  PyTorch is the
    oracle for the empty batch; for the window in the padding its index points past the
    channel (into the next one), so there the definition is: no tap inside, nothing routed."""
    functional = torch.nn.functional
    x, g = rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((1, 2, 1, 1))
    args = (2, 4, 1, 3)  # kernel, stride, padding, dilation: taps at -1 and 2, both outside
    assert np.all(reference.max_pool(x, *args)[1] == -1)
    grad = reference.max_pool_backward(g, x, *args)
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(grad, np.zeros(x.shape))
    x, g = rng.standard_normal((0, 2, 4, 4)), rng.standard_normal((0, 2, 2, 2))
    for ours, theirs in [(reference.max_pool_backward(g, x, 2), functional.max_pool2d),
                         (reference.adaptive_max_pool_backward(g, x, 2),
                          functional.adaptive_max_pool2d)]:
        xt = tensor(torch, x, grad=True)
        theirs(xt, 2).backward(tensor(torch, g))
        assert ours.dtype == np.float64
        np.testing.assert_array_equal(ours, xt.grad.numpy())


# --------------------------------------------------------------------------------------------
# Bad input: every error names the parameter and its value
# --------------------------------------------------------------------------------------------

def _bad_calls():
    noise = np.random.default_rng(7).standard_normal  # the values do not matter here
    x, w, g = noise((1, 3, 5, 5)), noise((2, 3, 3, 3)), noise((1, 2, 4, 4))
    return [
        (lambda: reference.conv(x, w, stride=0), ValueError,
         r"stride must be a positive integer, got 0"),
        (lambda: reference.conv(x, w, dilation=(1, 1.5)), TypeError,
         r"dilation\[1\] must be an integer, got 1.5"),
        (lambda: reference.conv(x, w, padding=-1), ValueError,
         r"padding must be a non-negative integer, got -1"),
        (lambda: reference.conv(x, w, padding_mode="mirror"), ValueError,
         r"padding_mode must be one of .* got 'mirror'"),
        (lambda: reference.conv(x, w[:, :2]), ValueError,
         r"input has 3 channels, but weight of shape \(2, 2, 3, 3\)"),
        (lambda: reference.conv(x, w, noise(3)), ValueError,
         r"bias must have shape \(2,\).*got \(3,\)"),
        (lambda: reference.conv(x.astype(complex), w), TypeError, r"input has dtype complex128"),
        (lambda: reference.conv(x, w[0, 0]), ValueError,
         r"weight must have 3, 4 or 5 dims .* got shape \(3, 3\)"),
        (lambda: reference.conv(x, noise((2, 3, 7, 1))), ValueError,
         r"kernel_size\[0\] = 7 .* larger than the padded input 5"),
        (lambda: reference.conv(x, w, padding=5, padding_mode="reflect"), ValueError,
         r"padding\[0\] = 5 before is not smaller than the input size 5"),
        (lambda: reference.conv_transpose(g, w, stride=2, output_padding=2), ValueError,
         r"output_padding\[0\] = 2 must be smaller than max\(stride, dilation\) = 2"),
        (lambda: reference.conv_input_grad(x.shape, w, noise((1, 2, 4, 4))), ValueError,
         r"grad_output must have shape \(1, 2, 3, 3\), got \(1, 2, 4, 4\)"),
        (lambda: reference.conv_input_grad((1, 3, 5), w, noise((1, 2, 3, 3))), ValueError,
         r"input_size must have 4 entries .* got \(1, 3, 5\)"),
        (lambda: reference.conv_weight_grad(x, "w", noise((1, 2, 3, 3))), TypeError,
         r"weight_size must be a shape .* got 'w'"),
        (lambda: reference.max_pool(x, (2, 2, 2)), ValueError,
         r"kernel_size has 3 entries, but there are 2 spatial dims"),
        (lambda: reference.max_pool(x, 3, padding=2), ValueError,
         r"padding\[0\] = 2 is more than half the kernel size 3"),
        (lambda: reference.avg_pool(x, 0), ValueError,
         r"kernel_size must be a positive integer, got 0"),
        (lambda: reference.avg_pool_backward(noise((1, 3, 3, 3)), x, 2), ValueError,
         r"grad_output must have shape \(1, 3, 2, 2\), got \(1, 3, 3, 3\)"),
        (lambda: reference.max_pool_backward(noise((1, 3, 3, 3)), x, 2), ValueError,
         r"grad_output must have shape \(1, 3, 2, 2\), got \(1, 3, 3, 3\)"),
        (lambda: reference.adaptive_avg_pool_backward(noise((1, 3, 2)), x), ValueError,
         r"grad_output must have 4 dims \(1, 3, \*output_size\) like the input, got shape"),
        (lambda: reference.conv_bias_grad(noise((2, 3))), ValueError,
         r"grad_output must have 3, 4 or 5 dims .* got shape \(2, 3\)"),
        (lambda: reference.adaptive_avg_pool(x, 0), ValueError,
         r"output_size must be a positive integer, got 0"),
        (lambda: reference.max_pool(x[:, :, :0], 2), ValueError,
         r"input has an empty axis 2: shape \(1, 3, 0, 5\)"),
        (lambda: reference.avg_pool_backward(noise((1, 3, 2, 0)), x[..., :0], 2), ValueError,
         r"input has an empty axis 3: shape \(1, 3, 5, 0\)"),
        (lambda: reference.adaptive_avg_pool(x[..., :0], 2), ValueError,
         r"input has an empty axis 3: shape \(1, 3, 5, 0\)"),
        (lambda: reference.adaptive_max_pool_backward(noise((1, 3, 1, 1)), x[:, :, :0], 1),
         ValueError, r"input has an empty axis 2: shape \(1, 3, 0, 5\)"),
        (lambda: reference.adaptive_max_pool(x[0, 0], 2), ValueError,
         r"input must have 3, 4 or 5 dims .* got shape \(5, 5\)"),
        (lambda: reference.pad(x, ((1, 1),), "wrap"), ValueError,
         r"padding_mode must be one of .* got 'wrap'"),
        (lambda: reference.pad(x, ((6, 0),), "circular"), ValueError,
         r"padding\[0\] = 6 before exceeds the input size 5"),
        (lambda: reference.pad_adjoint(x, ((1, 1),), "zeros", (5,)), ValueError,
         r"g must end in the padded shape \(7,\) .* got shape \(1, 3, 5, 5\)"),
    ]


BAD_CALLS = _bad_calls()


@pytest.mark.parametrize("call, error, message", BAD_CALLS,
                         ids=[message[:40] for _, _, message in BAD_CALLS])
def test_bad_input_names_parameter_and_value(call, error, message):
    with pytest.raises(error, match=message):
        call()
