"""Bad input to the functional API raises ValueError or TypeError naming the parameter and value.

The arrays are fresh random draws: input x (2, 4, 6, 6), weight w (6, 4, 3, 3), bias b (6,),
the conv output gradient g (2, 6, 4, 4), a grouped weight wg (6, 2, 3, 3), the 3x3/stride-2
max pool output gradient gp (2, 4, 2, 2).
"""

from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
import sympy

from convproof import functional as F
from convproof import reference
from convproof.spec import PoolSpec


@pytest.fixture
def a(rng: np.random.Generator) -> SimpleNamespace:
    return SimpleNamespace(
        x=rng.standard_normal((2, 4, 6, 6)), w=rng.standard_normal((6, 4, 3, 3)),
        b=rng.standard_normal(6), g=rng.standard_normal((2, 6, 4, 4)),
        wg=rng.standard_normal((6, 2, 3, 3)), gp=rng.standard_normal((2, 4, 2, 2)),
    )


class Tensor:
    """An array of another library: a dtype NumPy cannot read."""

    def __init__(self, array):
        self.shape, self.ndim, self.dtype = array.shape, array.ndim, "lib.float64"


def case(id: str, call, error: type[Exception], match: str):
    return pytest.param(call, error, match, id=id)


INTEGER_PARAMETERS = [
    case(f"{name}={value!r}", lambda a, name=name, value=value: F.conv2d(a.x, a.wg, groups=2,
                                                                        **{name: value}),
         error, message)
    for name in ("stride", "dilation")
    for value, error, message in (
        (0, ValueError, "{} must be a positive integer, got 0"),
        (-1, ValueError, "{} must be a positive integer, got -1"),
        (1.5, TypeError, r"{} must be an integer, got 1\.5"),
        ("2", TypeError, "{} must be an integer, got '2'"),
        ((1, 0), ValueError, r"{}\[1\] must be a positive integer, got 0"),
        (True, TypeError, "{} must be an integer, got True"),
        (np.bool_(True), TypeError, "{} must be an integer, got np.True_"),
        (np.array([1, 2]), TypeError, r"{} must be an integer, got array\(\[1, 2\]\)"),
    )
    for message in (message.format(name),)
] + [
    case("groups=0", lambda a: F.conv2d(a.x, a.w, groups=0), ValueError,
         "groups must be a positive integer, got 0"),
    case("groups=-2", lambda a: F.conv2d(a.x, a.w, groups=-2), ValueError,
         "groups must be a positive integer, got -2"),
    case("groups=1.5", lambda a: F.conv2d(a.x, a.wg, groups=1.5), TypeError,
         r"groups must be an integer, got 1\.5"),
    case("groups='2'", lambda a: F.conv2d(a.x, a.wg, groups="2"), TypeError,
         "groups must be an integer, got '2'"),
]

PADDING = [
    case("padding=-1", lambda a: F.conv2d(a.x, a.w, padding=-1), ValueError,
         "padding must be a non-negative integer, got -1"),
    case("padding pair -1", lambda a: F.conv2d(a.x, a.w, padding=((1, -1), 0)), ValueError,
         r"padding\[0\] must be a non-negative integer, got -1"),
    case("padding=1.5", lambda a: F.conv2d(a.x, a.w, padding=1.5), TypeError,
         r"padding must be an integer, got 1\.5"),
    case("padding='half'", lambda a: F.conv2d(a.x, a.w, padding="half"), ValueError,
         "padding must be .* got 'half'"),
    case("padding_mode='mirror'", lambda a: F.conv2d(a.x, a.w, padding_mode="mirror"),
         ValueError, "padding_mode must be one of .* got 'mirror'"),
    case("transposed padding_mode=0", lambda a: F.conv_transpose2d(a.g, a.w, padding_mode=0),
         TypeError, "padding_mode must be one of .* got 0"),
    case("reflect padding = n", lambda a: F.conv2d(a.x, a.w, padding=6, padding_mode="reflect"),
         ValueError, r"padding\[0\] = 6 before is not smaller than the input size 6"),
    case("reflect padding > n after",
         lambda a: F.conv2d(a.x, a.w, padding=(0, (1, 7)), padding_mode="reflect"),
         ValueError, r"padding\[1\] = 7 after is not smaller than the input size 6"),
    case("reflect transposed padding = t",
         lambda a: F.conv_transpose2d(a.g, a.w, stride=2, padding=3, padding_mode="reflect"),
         ValueError, r"padding\[0\] = 3 before is not smaller than the transposed output size 3"),
    case("circular padding > n", lambda a: F.conv2d(a.x, a.w, padding=7, padding_mode="circular"),
         ValueError, r"padding\[0\] = 7 before exceeds the input size 6"),
    case("circular input-grad padding > n",
         lambda a: F.conv2d_input((2, 4, 3, 3), a.w, a.g, padding=4, padding_mode="circular"),
         ValueError, r"padding\[0\] = 4 before exceeds the input size 3"),
    case("transposed same stride 2", lambda a: F.conv_transpose2d(a.g, a.w, stride=2,
                                                                  padding="same"),
         ValueError, r"padding='same' with stride \(2, 2\)"),
]

TUPLE_LENGTHS = [
    case("conv stride length", lambda a: F.conv2d(a.x, a.w, stride=(1, 1, 1)), ValueError,
         r"stride has 3 entries, but there are 2 spatial dims: \(1, 1, 1\)"),
    case("conv padding length", lambda a: F.conv2d(a.x, a.w, padding=(1, 1, 1)), ValueError,
         r"padding has 3 entries, but there are 2 spatial dims: \(1, 1, 1\)"),
    case("conv padding pair length", lambda a: F.conv2d(a.x, a.w, padding=((1, 1, 1), 0)),
         ValueError, r"padding\[0\] must be an integer or a \(lo, hi\) pair, got \(1, 1, 1\)"),
    case("conv dilation length", lambda a: F.conv1d(a.x[:, :, 0], a.w[..., 0], dilation=(1, 2)),
         ValueError, r"dilation has 2 entries, but there is 1 spatial dim: \(1, 2\)"),
    case("output_padding length",
         lambda a: F.conv_transpose2d(a.g, a.w, stride=2, output_padding=(1, 1, 1)),
         ValueError, r"output_padding has 3 entries, but there are 2 spatial dims: \(1, 1, 1\)"),
    case("pool kernel_size length", lambda a: F.max_pool2d(a.x, (2, 2, 2)), ValueError,
         r"kernel_size has 3 entries, but there are 2 spatial dims: \(2, 2, 2\)"),
    case("pool stride length", lambda a: F.avg_pool2d(a.x, 2, stride=(1,)), ValueError,
         r"stride has 1 entry, but there are 2 spatial dims: \(1,\)"),
    case("pool padding length", lambda a: F.max_pool3d(a.x, 2, padding=(1, 1)), ValueError,
         r"padding has 2 entries, but there are 3 spatial dims: \(1, 1\)"),
    case("adaptive output_size length", lambda a: F.adaptive_avg_pool2d(a.x, (2, 2, 2)),
         ValueError, r"output_size has 3 entries, but there are 2 spatial dims: \(2, 2, 2\)"),
]

CHANNELS = [
    case("channels not divisible by groups", lambda a: F.conv2d(a.x, a.w[:, :1], groups=3),
         ValueError, r"input has 4 channels, not divisible by groups = 3"),
    case("filters not divisible by groups", lambda a: F.conv2d(a.x, a.wg[:5], groups=2),
         ValueError, r"weight has 5 filters along axis 0, not divisible by groups = 2"),
    case("transposed filters not divisible by groups",
         lambda a: F.conv_transpose2d(a.g[:, :5], a.w[:5], groups=2),
         ValueError, r"input has 5 channels, not divisible by groups = 2"),
    case("input channels != weight", lambda a: F.conv2d(a.x, a.w[:, :3]), ValueError,
         r"input has 4 channels, but weight of shape \(6, 3, 3, 3\)"),
    case("unbatched input channels != weight", lambda a: F.conv2d(a.x[0], a.w[:, :3]),
         ValueError, r"input has 4 channels, but weight of shape \(6, 3, 3, 3\)"),
    case("transposed input channels != weight", lambda a: F.conv_transpose2d(a.g, a.w[:4]),
         ValueError, r"input has 6 channels, but the transposed-convolution weight of shape "
                     r"\(4, 4, 3, 3\) expects 4"),
    case("weight_size channels != input",
         lambda a: F.conv2d_weight(a.x, (6, 3, 3, 3), a.g), ValueError,
         r"input has 4 channels, but weight of shape \(6, 3, 3, 3\)"),
    case("input_size channels != weight",
         lambda a: F.conv2d_input((2, 5, 6, 6), a.w, a.g), ValueError,
         r"input has 5 channels, but weight of shape \(6, 4, 3, 3\)"),
    case("bias length", lambda a: F.conv2d(a.x, a.w, a.b[:5]), ValueError,
         r"bias must have shape \(6,\), one entry per output channel, got \(5,\)"),
    case("bias rank", lambda a: F.conv2d(a.x, a.w, a.b[:, None]), ValueError,
         r"bias must have shape \(6,\), one entry per output channel, got \(6, 1\)"),
    case("transposed bias length", lambda a: F.conv_transpose2d(a.g, a.w, a.b), ValueError,
         r"bias must have shape \(4,\), one entry per output channel, got \(6,\)"),
]

SIZES_AND_RANKS = [
    case("kernel larger than input", lambda a: F.conv2d(a.x[..., :2, :], a.w), ValueError,
         r"kernel_size\[0\] = 3 with dilation 1 spans 3, larger than the padded input 2"),
    case("dilated kernel larger than padded input",
         lambda a: F.conv2d(a.x, a.w, dilation=(1, 3), padding=((0, 0), (0, 0))), ValueError,
         r"kernel_size\[1\] = 3 with dilation 3 spans 7, larger than the padded input 6"),
    case("input rank 2", lambda a: F.conv2d(a.x[0, 0], a.w), ValueError,
         r"input must have 4 dims \(N, C, H, W\) for a 2-D convolution, got shape \(6, 6\)"),
    case("input rank 5", lambda a: F.conv2d(a.x[None], a.w), ValueError,
         r"input must have 4 dims \(N, C, H, W\) .* got shape \(1, 2, 4, 6, 6\)"),
    case("weight rank 3", lambda a: F.conv2d(a.x, a.w[..., 0]), ValueError,
         r"weight must have 4 dims .* got shape \(6, 4, 3\)"),
    case("weight rank for conv1d", lambda a: F.conv1d(a.x[0], a.w), ValueError,
         r"weight must have 3 dims .* got shape \(6, 4, 3, 3\)"),
    case("transposed weight rank", lambda a: F.conv_transpose3d(a.g[None], a.w), ValueError,
         r"weight must have 5 dims \(C_in, C_out/groups, D, H, W\) .* got shape \(6, 4, 3, 3\)"),
    case("pool input rank", lambda a: F.max_pool2d(a.x[0, 0], 2), ValueError,
         r"input must have 4 dims \(N, C, H, W\) or 3 \(C, H, W\) for 2-D pooling, "
         r"got shape \(6, 6\)"),
    case("adaptive pool input rank", lambda a: F.adaptive_max_pool1d(a.x, 2), ValueError,
         r"input must have 3 dims \(N, C, L\) or 2 \(C, L\) for 1-D pooling, "
         r"got shape \(2, 4, 6, 6\)"),
    case("pool kernel larger than input", lambda a: F.max_pool2d(a.x, 8), ValueError,
         r"kernel_size\[0\] = 8 with dilation 1 spans 8, larger than the padded input 6"),
    case("pool kernel larger than input by a stride, ceil_mode",
         lambda a: F.avg_pool2d(a.x, 8, stride=2, ceil_mode=True), ValueError,
         r"kernel_size\[0\] = 8 with dilation 1 spans 8, larger than the padded input 6 by "
         r"more than stride - 1 = 1"),
    case("transposed conv without output", lambda a: F.conv_transpose2d(a.g, a.w, padding=5),
         ValueError, r"no output along dim 0: \(4 - 1\)\*1 - 5 - 5 \+ 1\*\(3 - 1\) \+ 0 \+ 1"),
]

DTYPES = [
    case("input bool", lambda a: F.conv2d(a.x > 0, a.w), TypeError,
         "input has dtype bool, which is not a real number type"),
    case("weight complex", lambda a: F.conv2d(a.x, a.w + 1j), TypeError,
         "weight has dtype complex128, which is not a real number type"),
    case("bias object", lambda a: F.conv2d(a.x, a.w, a.b.astype(object)), TypeError,
         "bias has dtype object, which is not a real number type"),
    case("input str", lambda a: F.conv2d(a.x.astype(str), a.w), TypeError,
         "input has dtype <U.*, which is not a real number type"),
    case("grad_output bool", lambda a: F.conv2d_input(a.x.shape, a.w, a.g > 0), TypeError,
         "grad_output has dtype bool"),
    case("input float16", lambda a: F.conv2d(a.x.astype(np.float16), a.w), TypeError,
         "input has dtype float16; supported here: float32, float64"),
    case("weight float16", lambda a: F.conv_transpose2d(a.g, a.w.astype(np.float16)), TypeError,
         "weight has dtype float16; supported here: float32, float64"),
    case("pool input float16", lambda a: F.avg_pool2d(a.x.astype(np.float16), 2), TypeError,
         "input has dtype float16; supported here: float32, float64"),
    case("pool grad_output complex", lambda a: F.max_pool2d_backward(a.gp + 0j, a.x, 3, 2),
         TypeError, "grad_output has dtype complex128"),
    case("adaptive input object", lambda a: F.adaptive_avg_pool2d(a.x.astype(object), 2),
         TypeError, "input has dtype object"),
    case("input list", lambda a: F.conv2d(a.x.tolist(), a.w), TypeError,
         "input must be an array \\(NumPy or CuPy\\), got list"),
    case("pool input list", lambda a: F.max_pool1d([[1.0, 2.0]], 2), TypeError,
         "input must be an array \\(NumPy or CuPy\\), got list"),
    case("input None", lambda a: F.conv2d(None, a.w), TypeError,
         "input must be an array \\(NumPy or CuPy\\), got None"),
    case("weight None", lambda a: F.conv_transpose2d(a.g, None), TypeError,
         "weight must be an array \\(NumPy or CuPy\\), got None"),
    case("grad_output None", lambda a: F.conv2d_weight(a.x, a.w.shape, None), TypeError,
         "grad_output must be an array \\(NumPy or CuPy\\), got None"),
    case("pool input None", lambda a: F.max_pool2d_backward(a.gp, None, 3, 2), TypeError,
         "input must be an array \\(NumPy or CuPy\\), got None"),
    case("input of another library", lambda a: F.conv2d(Tensor(a.x), a.w), TypeError,
         "input must be an array \\(NumPy or CuPy\\), got Tensor"),
]

OUTPUT_PADDING = [
    case("output_padding = stride", lambda a: F.conv_transpose2d(a.g, a.w, stride=2,
                                                                 output_padding=2),
         ValueError, r"output_padding\[0\] = 2 must be smaller than max\(stride, dilation\) = 2"),
    case("output_padding with stride 1", lambda a: F.conv_transpose2d(a.g, a.w,
                                                                      output_padding=(0, 1)),
         ValueError, r"output_padding\[1\] = 1 must be smaller than max\(stride, dilation\) = 1"),
    case("output_padding negative", lambda a: F.conv_transpose2d(a.g, a.w, output_padding=-1),
         ValueError, "output_padding must be a non-negative integer, got -1"),
]

POOLING = [
    case("max pool kernel 0", lambda a: F.max_pool2d(a.x, 0), ValueError,
         "kernel_size must be a positive integer, got 0"),
    case("avg pool kernel (2, 0)", lambda a: F.avg_pool2d(a.x, (2, 0)), ValueError,
         r"kernel_size\[1\] must be a positive integer, got 0"),
    case("pool kernel 1.5", lambda a: F.max_pool2d(a.x, 1.5), TypeError,
         r"kernel_size must be an integer, got 1\.5"),
    case("max pool padding > k/2", lambda a: F.max_pool2d(a.x, 3, padding=2), ValueError,
         r"padding\[0\] = 2 is more than half the kernel size 3"),
    case("avg pool padding > k/2", lambda a: F.avg_pool2d(a.x, (2, 4), padding=(1, 3)),
         ValueError, r"padding\[1\] = 3 is more than half the kernel size 4"),
    case("pool padding negative", lambda a: F.avg_pool1d(a.x[0], 2, padding=-1), ValueError,
         "padding must be a non-negative integer, got -1"),
    case("pool stride 0", lambda a: F.max_pool2d(a.x, 2, stride=0), ValueError,
         "stride must be a positive integer, got 0"),
    case("pool stride -1", lambda a: F.avg_pool2d(a.x, 2, stride=-1), ValueError,
         "stride must be a positive integer, got -1"),
    case("pool stride '2'", lambda a: F.max_pool2d(a.x, 2, stride="2"), TypeError,
         "stride must be an integer, got '2'"),
    case("pool dilation 0", lambda a: F.max_pool2d(a.x, 2, dilation=0), ValueError,
         "dilation must be a positive integer, got 0"),
    case("adaptive output_size 0", lambda a: F.adaptive_avg_pool2d(a.x, 0), ValueError,
         "output_size must be a positive integer, got 0"),
    case("adaptive output_size (3, 0)", lambda a: F.adaptive_max_pool2d(a.x, (3, 0)),
         ValueError, r"output_size\[1\] must be a positive integer, got 0"),
    case("adaptive avg pool of an empty input", lambda a: F.adaptive_avg_pool2d(a.x[..., :0], 1),
         ValueError, r"input has an empty axis 3: shape \(2, 4, 6, 0\)"),
    case("adaptive max pool of an empty input",
         lambda a: F.adaptive_max_pool1d(a.x[0, :, 0, :0], 2), ValueError,
         r"input has an empty axis 1: shape \(4, 0\)"),
    case("adaptive avg backward of an empty input",
         lambda a: F.adaptive_avg_pool2d_backward(a.gp[..., :1, :1], a.x[..., :0, :]),
         ValueError, r"input has an empty axis 2: shape \(2, 4, 0, 6\)"),
    case("adaptive max backward of an empty input",
         lambda a: F.adaptive_max_pool2d_backward(a.gp[..., :1, :1], a.x[..., :0], 1),
         ValueError, r"input has an empty axis 3: shape \(2, 4, 6, 0\)"),
    case("max pool of an empty input", lambda a: F.max_pool2d(a.x[:, :, :0], 2), ValueError,
         r"input has an empty axis 2: shape \(2, 4, 0, 6\)"),
    case("unbatched max pool of an empty input", lambda a: F.max_pool1d(a.x[0, :, 0, :0], 2),
         ValueError, r"input has an empty axis 1: shape \(4, 0\)"),
    case("3-D max pool of an empty input", lambda a: F.max_pool3d(a.x[..., None][..., :0], 1),
         ValueError, r"input has an empty axis 4: shape \(2, 4, 6, 6, 0\)"),
    case("avg pool of an empty input", lambda a: F.avg_pool2d(a.x[..., :0], 2), ValueError,
         r"input has an empty axis 3: shape \(2, 4, 6, 0\)"),
    case("max pool backward of an empty input",
         lambda a: F.max_pool2d_backward(a.gp[:, :, :0], a.x[:, :, :0], 3, 2), ValueError,
         r"input has an empty axis 2: shape \(2, 4, 0, 6\)"),
    case("avg pool backward of an empty input",
         lambda a: F.avg_pool2d_backward(a.gp[..., :0], a.x[..., :0], 3, 2), ValueError,
         r"input has an empty axis 3: shape \(2, 4, 6, 0\)"),
    case("adaptive output_size 2.5", lambda a: F.adaptive_max_pool1d(a.x[0], 2.5), TypeError,
         r"output_size must be an integer, got 2\.5"),
    case("return_indices=1", lambda a: F.max_pool2d(a.x, 2, return_indices=1), TypeError,
         "return_indices must be True or False, got 1"),
    case("adaptive return_indices='yes'",
         lambda a: F.adaptive_max_pool2d(a.x, 2, return_indices="yes"), TypeError,
         "return_indices must be True or False, got 'yes'"),
    case("count_include_pad=None", lambda a: F.avg_pool2d(a.x, 2, count_include_pad=None),
         TypeError, "count_include_pad must be True or False, got None"),
    case("ceil_mode=1", lambda a: F.max_pool2d(a.x, 2, ceil_mode=1), TypeError,
         "ceil_mode must be True or False, got 1"),
]

GRADIENT_SHAPES = [
    case("conv input grad_output shape", lambda a: F.conv2d_input(a.x.shape, a.w, a.g[..., :3]),
         ValueError, r"grad_output must have shape \(2, 6, 4, 4\) .* got \(2, 6, 4, 3\)"),
    case("conv weight grad_output shape", lambda a: F.conv2d_weight(a.x, a.w.shape, a.g[:, :5]),
         ValueError, r"grad_output must have shape \(2, 6, 4, 4\) .* got \(2, 5, 4, 4\)"),
    case("conv weight grad_output batch", lambda a: F.conv2d_weight(a.x, a.w.shape, a.g[:1]),
         ValueError, r"grad_output must have shape \(2, 6, 4, 4\) .* got \(1, 6, 4, 4\)"),
    case("unbatched conv weight grad_output",
         lambda a: F.conv2d_weight(a.x[0], a.w.shape, a.g[0, :, :3]), ValueError,
         r"grad_output must have shape \(6, 4, 4\) .* got \(6, 3, 4\)"),
    case("max pool grad_output shape", lambda a: F.max_pool2d_backward(a.g, a.x, 3, 2),
         ValueError, r"grad_output must have shape \(2, 4, 2, 2\), got \(2, 6, 4, 4\)"),
    case("avg pool grad_output shape",
         lambda a: F.avg_pool2d_backward(a.gp[..., :1], a.x, 3, 2), ValueError,
         r"grad_output must have shape \(2, 4, 2, 2\), got \(2, 4, 2, 1\)"),
    case("unbatched avg pool grad_output",
         lambda a: F.avg_pool2d_backward(a.gp[0, :3], a.x[0], 3, 2), ValueError,
         r"grad_output must have shape \(4, 2, 2\), got \(3, 2, 2\)"),
    case("adaptive avg grad_output channels",
         lambda a: F.adaptive_avg_pool2d_backward(a.g, a.x), ValueError,
         r"grad_output must have shape \(2, 4\) \+ 2 output sizes, .* got \(2, 6, 4, 4\)"),
    case("adaptive avg grad_output rank",
         lambda a: F.adaptive_avg_pool2d_backward(a.gp[..., 0], a.x), ValueError,
         r"grad_output must have shape \(2, 4\) \+ 2 output sizes, .* got \(2, 4, 2\)"),
    case("adaptive max grad_output shape",
         lambda a: F.adaptive_max_pool2d_backward(a.gp, a.x, 3), ValueError,
         r"grad_output must have shape \(2, 4, 3, 3\), got \(2, 4, 2, 2\)"),
    case("input_size inconsistent with grad_output",
         lambda a: F.conv2d_input((2, 4, 9, 9), a.w, a.g), ValueError,
         r"grad_output must have shape \(2, 6, 7, 7\) \(the conv output for an input of shape "
         r"\(2, 4, 9, 9\), weight \(6, 4, 3, 3\)\), got \(2, 6, 4, 4\)"),
    case("input_size inconsistent with a strided grad_output",
         lambda a: F.conv2d_input((2, 4, 11, 11), a.w, a.g, stride=2), ValueError,
         r"grad_output must have shape \(2, 6, 5, 5\) .*input of shape \(2, 4, 11, 11\).*"
         r"got \(2, 6, 4, 4\)"),
    case("weight_size inconsistent with grad_output",
         lambda a: F.conv2d_weight(a.x, (6, 4, 2, 2), a.g), ValueError,
         r"grad_output must have shape \(2, 6, 5, 5\) \(the conv output for an input of shape "
         r"\(2, 4, 6, 6\), weight \(6, 4, 2, 2\)\), got \(2, 6, 4, 4\)"),
    case("input_size length", lambda a: F.conv2d_input((2, 4, 6), a.w, a.g), ValueError,
         r"input_size must have 4 entries \(N, C_in, \*spatial\), got \(2, 4, 6\)"),
    case("input_size not a shape", lambda a: F.conv2d_input(6, a.w, a.g), TypeError,
         r"input_size must be a shape \(N, C_in, \*spatial\), got 6"),
    case("input_size entry 0", lambda a: F.conv2d_input((2, 4, 0, 6), a.w, a.g), ValueError,
         r"input_size\[2\] must be a positive integer, got 0"),
    case("weight_size length", lambda a: F.conv2d_weight(a.x, (6, 4, 3), a.g), ValueError,
         r"weight_size must have 4 entries \(C_out, C_in/groups, \*k\), got \(6, 4, 3\)"),
    case("weight_size entry 1.5", lambda a: F.conv2d_weight(a.x, (6, 4, 3, 1.5), a.g),
         TypeError, r"weight_size\[3\] must be an integer, got 1\.5"),
    case("weight_size entry -3", lambda a: F.conv2d_weight(a.x, (6, 4, -3, 3), a.g),
         ValueError, r"weight_size\[2\] must be a positive integer, got -3"),
    case("input_size batch -1", lambda a: F.conv2d_input((-1, 4, 6, 6), a.w, a.g), ValueError,
         r"input_size\[0\] must be a non-negative integer, got -1"),
]


SYMBOLIC = sympy.Symbol("s", integer=True, positive=True)
NAMES_AND_EMPTY = [
    case("symbolic stride", lambda a: F.conv2d(a.x, a.w, stride=SYMBOLIC), TypeError,
         r"stride must be an integer to compute on arrays, got s"),
    case("symbolic stride pair", lambda a: F.conv2d(a.x, a.w, stride=(1, SYMBOLIC)), TypeError,
         r"stride must be integers to compute on arrays, got \(1, s\)"),
    case("symbolic groups", lambda a: F.conv2d(a.x, a.w, groups=SYMBOLIC), TypeError,
         r"groups must be an integer to compute on arrays, got s"),
    case("symbolic input_size", lambda a: F.conv2d_input((2, 4, SYMBOLIC, 6), a.w, a.g),
         TypeError, r"input_size\[2\] must be an integer to compute on arrays, got s"),
    case("symbolic output_size", lambda a: F.adaptive_avg_pool2d(a.x, (2, SYMBOLIC)), TypeError,
         r"output_size\[1\] must be an integer to compute on arrays, got s"),
    case("masked input", lambda a: F.max_pool2d(np.ma.masked_less(a.x, 0), 2), TypeError,
         r"input is a masked array, whose mask convproof would ignore: pass "
         r"input.filled\(value\) or input.data"),
    case("symbolic pool stride", lambda a: F.max_pool2d(a.x, 2, stride=SYMBOLIC), TypeError,
         r"stride must be integers to compute on arrays"),
    case("misspelt keyword", lambda a: F.conv2d(a.x, a.w, strid=2), TypeError,
         r"conv2d\(\): got an unexpected keyword argument 'strid'"),
    case("unbatched empty axis", lambda a: F.conv2d(a.x[0, :0], a.w[:, :0]), ValueError,
         r"input has an empty axis 0: shape \(0, 6, 6\)"),
    case("adaptive backward empty", lambda a: F.adaptive_avg_pool2d_backward(a.gp[..., :0], a.x),
         ValueError, r"grad_output has an empty output axis: shape \(2, 4, 2, 0\)"),
    case("padding_mode array", lambda a: F.conv2d(a.x, a.w, padding_mode=np.array(["zeros"])),
         TypeError, r"padding_mode must be one of .* got array"),
    case("reference pad of an empty axis",
         lambda a: reference.pad(a.x[..., :0], ((1, 1),), "zeros"), ValueError,
         r"x has an empty axis 3 among the padded ones: shape \(2, 4, 6, 0\)"),
    case("pool spec of no dims", lambda a: PoolSpec(()), ValueError,
         r"kernel_size must have one entry per spatial dim, got \(\)"),
]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    INTEGER_PARAMETERS + PADDING + TUPLE_LENGTHS + CHANNELS + SIZES_AND_RANKS + DTYPES
    + OUTPUT_PADDING + POOLING + GRADIENT_SHAPES + NAMES_AND_EMPTY,
)
def test_bad_input_is_refused_with_its_name_and_value(a, call, error, match):
    with pytest.raises(error, match=match):
        call(a)


def test_arrays_of_two_devices_are_refused(a, monkeypatch):
    """A CuPy array (here a stand-in, with a stand-in cupy module) is not mixed with NumPy's."""
    monkeypatch.setitem(sys.modules, "cupy", ModuleType("cupy"))
    foreign = type("ndarray", (), {"__module__": "cupy._core.core", "dtype": np.float64,
                                   "ndim": 4, "shape": a.w.shape})()
    with pytest.raises(TypeError, match="input is a numpy array, weight is a cupy array"):
        F.conv2d(a.x, foreign)
