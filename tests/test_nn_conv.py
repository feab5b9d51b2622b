"""Conv and transposed conv layers against PyTorch in float64, on configurations drawn at random.

Each trial draws dims, channels, groups, kernel, stride, dilation, padding (an int, a per-dim
tuple, (lo, hi) pairs, "same", "valid") and padding mode, copies our parameters into PyTorch and
compares the output, the input gradient and the weight and bias gradients.  PyTorch's side pads
explicitly with ``F.pad`` where its own conv has no such padding; its transposed conv with a
padding mode is the adjoint of the padded conv, computed by autograd (its definition).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from convproof import nn
from test_nn_helpers import (compare_module, compare_with_torch, copy_into_torch,
                             same_padding, tensor)

MODES = ("zeros", "reflect", "replicate", "circular")
TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
               "circular": "circular"}
TRIALS = 20


def layer_class(name: str, dims: int):
    return getattr(nn, f"{name}{dims}d")


def ints(rng, low: int, high: int, count: int) -> tuple[int, ...]:
    """``count`` integers in [low, high]."""
    return tuple(int(v) for v in rng.integers(low, high + 1, count))


def torch_pad(torch, x, pairs, mode: str):
    """x padded with per-dim (lo, hi) pairs; F.pad lists the last axis first."""
    flat = [p for pair in reversed(pairs) for p in pair]
    return torch.nn.functional.pad(x, flat, mode=TORCH_MODES[mode])


def draw_conv(rng, dims: int) -> dict:
    """A random valid conv configuration with its input size and explicit (lo, hi) pads."""
    groups = int(rng.integers(1, 4))
    kernel, stride, dilation = ints(rng, 1, 3, dims), ints(rng, 1, 3, dims), ints(rng, 1, 2, dims)
    size = tuple(d * (k - 1) + 1 + int(rng.integers(0, 4)) for k, d in zip(kernel, dilation))
    mode = str(rng.choice(MODES))
    limit = min(2, min(size) - (mode == "reflect")) if mode in ("reflect", "circular") else 2
    form = str(rng.choice(["int", "tuple", "pairs", "same", "valid"]))
    if form == "int":
        padding = int(rng.integers(0, limit + 1))
        pairs = ((padding, padding),) * dims
    elif form == "tuple":
        padding = ints(rng, 0, limit, dims)
        pairs = tuple((p, p) for p in padding)
    elif form == "pairs":
        padding = pairs = tuple(ints(rng, 0, limit, 2) for _ in range(dims))
    elif form == "same":
        padding = "same"
        pairs = tuple(same_padding(n, k, s, d) for n, k, s, d in zip(size, kernel, stride,
                                                                    dilation))
    else:
        padding, pairs = "valid", ((0, 0),) * dims
    return dict(in_channels=groups * int(rng.integers(1, 3)),
                out_channels=groups * int(rng.integers(1, 3)), kernel_size=kernel,
                stride=stride, padding=padding, dilation=dilation, groups=groups,
                bias=bool(rng.integers(0, 2)), padding_mode=mode, size=size, pairs=pairs,
                batch=int(rng.integers(1, 4)))


def padded(torch, conv, config: dict):
    """PyTorch's conv (padding 0) of the input padded explicitly as ``config`` says."""
    return lambda t: conv(torch_pad(torch, t, config["pairs"], config["padding_mode"]))


def conv_arguments(config: dict) -> dict:
    return {key: config[key] for key in ("in_channels", "out_channels", "kernel_size", "stride",
                                         "padding", "dilation", "groups", "bias",
                                         "padding_mode")}


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_layer_matches_torch(dims, rng, torch):
    for _ in range(TRIALS):
        config = draw_conv(rng, dims)
        ours = layer_class("Conv", dims)(**conv_arguments(config), rng=rng, dtype=np.float64)
        x = rng.standard_normal((config["batch"], config["in_channels"], *config["size"]))
        if isinstance(config["padding"], int):  # PyTorch's own layer, same positional order
            args = list(conv_arguments(config).values())
            theirs = getattr(torch.nn, f"Conv{dims}d")(*args)
            copy_into_torch(torch, ours, theirs)
            compare_module(torch, ours, theirs, x, rng)
            continue
        theirs = getattr(torch.nn, f"Conv{dims}d")(
            config["in_channels"], config["out_channels"], config["kernel_size"],
            config["stride"], 0, config["dilation"], config["groups"], config["bias"])
        copy_into_torch(torch, ours, theirs)
        compare_with_torch(torch, ours, padded(torch, theirs, config),
                           dict(theirs.named_parameters()), x, rng)


def draw_transposed(rng, dims: int, mode: str) -> dict:
    """A random transposed conv whose output exists and can carry its padding mode."""
    while True:
        groups = int(rng.integers(1, 4))
        kernel, stride = ints(rng, 1, 3, dims), ints(rng, 1, 3, dims)
        dilation = ints(rng, 1, 2, dims)
        size = ints(rng, 1, 4, dims)
        output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        symmetric = mode == "zeros" and rng.random() < 0.5
        pairs = tuple((p, p) for p in ints(rng, 0, 2, dims)) if symmetric \
            else tuple(ints(rng, 0, 2, 2) for _ in range(dims))
        out = tuple((m - 1) * s - lo - hi + d * (k - 1) + a + 1 for m, s, (lo, hi), d, k, a
                    in zip(size, stride, pairs, dilation, kernel, output_padding))
        fits = {"reflect": lambda p, t: p < t, "circular": lambda p, t: p <= t}.get(
            mode, lambda p, t: True)
        if all(t >= 1 and fits(lo, t) and fits(hi, t) for t, (lo, hi) in zip(out, pairs)):
            break
    return dict(in_channels=groups * int(rng.integers(1, 3)),
                out_channels=groups * int(rng.integers(1, 3)), kernel_size=kernel,
                stride=stride, padding=tuple(p for p, _ in pairs) if symmetric else pairs,
                output_padding=output_padding, groups=groups, bias=bool(rng.integers(0, 2)),
                dilation=dilation, padding_mode=mode, size=size, out=out, pairs=pairs,
                batch=int(rng.integers(1, 4)), symmetric=symmetric)


def transposed_arguments(config: dict) -> dict:
    return {key: config[key] for key in ("in_channels", "out_channels", "kernel_size", "stride",
                                         "padding", "output_padding", "groups", "bias",
                                         "dilation", "padding_mode")}


def adjoint_in_torch(torch, config: dict, dims: int, weight, bias, x_t):
    """convT_M(x) + bias = P_M^T A^T x by autograd: the gradient of <A P_M z, x> in z."""
    z = torch.zeros((x_t.shape[0], config["out_channels"], *config["out"]),
                    dtype=torch.float64, requires_grad=True)
    forward = getattr(torch.nn.functional, f"conv{dims}d")(
        torch_pad(torch, z, config["pairs"], config["padding_mode"]), weight,
        stride=config["stride"], dilation=config["dilation"], groups=config["groups"])
    # forward may reach past the input size m when output_padding >= stride: zeros there
    extra = [(0, f - m) for f, m in zip(forward.shape[2:], x_t.shape[2:])]
    x_extended = torch_pad(torch, x_t, extra, "zeros")
    (y,) = torch.autograd.grad(forward, z, x_extended, create_graph=True)
    return y if bias is None else y + bias.reshape(-1, *(1,) * dims)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
def test_conv_transpose_layer_matches_torch(dims, mode, rng, torch):
    for _ in range(TRIALS // 2):
        config = draw_transposed(rng, dims, mode)
        ours = layer_class("ConvTranspose", dims)(**transposed_arguments(config), rng=rng,
                                                  dtype=np.float64)
        x = rng.standard_normal((config["batch"], config["in_channels"], *config["size"]))
        if config["symmetric"]:  # PyTorch's own layer, same positional order
            theirs = getattr(torch.nn, f"ConvTranspose{dims}d")(
                *list(transposed_arguments(config).values()))
            copy_into_torch(torch, ours, theirs)
            compare_module(torch, ours, theirs, x, rng)
        weight = tensor(torch, ours.weight.data, grad=True)
        bias = None if ours.bias is None else tensor(torch, ours.bias.data, grad=True)
        parameters = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
        forward = functools.partial(adjoint_in_torch, torch, config, dims, weight, bias)
        compare_with_torch(torch, ours, forward, parameters, x, rng)


def test_conv_transpose_undoes_the_shape_of_conv(rng):
    """ConvTranspose2d with output_padding restores the input size a strided conv forgot."""
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, rng=rng, dtype=np.float64)
    up = nn.ConvTranspose2d(5, 3, 3, stride=2, padding=1, output_padding=1, rng=rng,
                            dtype=np.float64)
    x = rng.standard_normal((2, 3, 8, 6))
    assert up.forward(conv.forward(x)).shape == x.shape


def test_conv_transpose_weight_layout_and_adjointness(rng):
    """<conv(x), g> = <x, convT(g)> with the same weight: the layers are adjoint."""
    conv = nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2,
                     bias=False, padding_mode="circular", rng=rng, dtype=np.float64)
    transposed = nn.ConvTranspose2d(6, 4, (3, 2), stride=(2, 1), padding=1, groups=2,
                                    bias=False, dilation=(1, 2), padding_mode="circular",
                                    dtype=np.float64)
    assert transposed.weight.shape == conv.weight.shape == (6, 2, 3, 2)
    transposed.weight.data = conv.weight.data
    x = rng.standard_normal((2, 4, 7, 5))
    y = conv.forward(x)
    g = rng.standard_normal(y.shape)
    z = transposed.forward(g)
    assert z.shape == x.shape
    scale = np.vdot(np.abs(y), np.abs(g)) + np.vdot(np.abs(x), np.abs(z))  # sums may cancel
    assert abs(np.vdot(y, g) - np.vdot(x, z)) <= 1e-12 * scale


def test_default_initialization_is_pytorchs(rng):
    """weight and bias ~ U(-b, b), b = 1/sqrt(weight.shape[1] * prod(k)), as PyTorch."""
    for layer, fan_in in ((nn.Conv2d(6, 16, 5, groups=2, rng=rng), 3 * 25),
                          (nn.ConvTranspose2d(8, 12, 3, groups=4, rng=rng), 3 * 9),
                          (nn.Conv1d(5, 7, 4, rng=rng), 5 * 4)):
        bound = 1 / np.sqrt(fan_in)
        for parameter in layer.parameters():
            assert parameter.data.dtype == np.float32
            assert np.abs(parameter.data).max() <= bound
        assert np.abs(layer.weight.data).max() > 0.8 * bound  # spread over the interval
    big = nn.Conv2d(64, 64, 3, rng=rng).weight.data
    assert abs(big.var() - 1 / (3 * 64 * 9)) < 0.05 / (3 * 64 * 9)


def test_parameter_count_of_the_notes_layer():
    """10 filters 5x5x3 with stride 1, pad 2: (5*5*3 + 1) * 10 = 760 parameters."""
    assert nn.Conv2d(3, 10, 5, padding=2).parameter_count() == 760
