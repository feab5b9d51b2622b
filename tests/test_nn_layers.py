"""Pooling, batch norm, dropout, activations, Linear, Flatten and Sequential against PyTorch.

Shapes and settings are drawn at random in each test; PyTorch runs in float64 with our
parameters copied in.  Batch norm is compared over several training steps (running statistics
included) and then in eval mode.  Dropout, whose masks cannot match PyTorch's, is checked by
its statistics and by its exact relation between mask, output and gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

from convproof import nn
from test_nn_helpers import assert_close, compare_module, compare_with_torch, copy_into_torch

TRIALS = 15


def images(rng, channels: int | None = None, low: int = 1, high: int = 9) -> np.ndarray:
    """A random (N, C, H, W) batch with H, W in [low, high]."""
    c = channels or int(rng.integers(1, 4))
    return rng.standard_normal((int(rng.integers(1, 4)), c, *rng.integers(low, high + 1, 2)))


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------

def draw_window(rng, size) -> dict:
    """kernel, stride, padding <= k/2, dilation and ceil_mode that fit the input ``size``."""
    while True:
        kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
        if all(n + 2 * p >= d * (k - 1) + 1 for n, k, p, d in zip(size, kernel, padding,
                                                                    dilation)):
            stride = None if rng.random() < 0.3 else tuple(int(s) for s in rng.integers(1, 4, 2))
            return dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                        ceil_mode=bool(rng.integers(0, 2)))


def test_max_pool_matches_torch(rng, torch):
    for _ in range(TRIALS):
        x = images(rng, low=3)
        window = draw_window(rng, x.shape[2:])
        ours = nn.MaxPool2d(**window)
        compare_module(torch, ours, torch.nn.MaxPool2d(**window), x, rng)


def test_max_pool_layers_take_torch_s_positional_arguments(rng, torch):
    """return_indices sits where PyTorch puts it, so ceil_mode given by position is ceil_mode;
    True is refused (the forward returns y alone)."""
    x = images(rng, low=7)
    compare_module(torch, nn.MaxPool2d(2, 2, 0, 1, False, True),
                   torch.nn.MaxPool2d(2, 2, 0, 1, False, True), x, rng)
    compare_module(torch, nn.AdaptiveMaxPool2d(3, False), torch.nn.AdaptiveMaxPool2d(3, False),
                   x, rng)
    for make in (lambda: nn.MaxPool2d(2, 2, 0, 1, True), lambda: nn.AdaptiveMaxPool2d(3, True)):
        with pytest.raises(ValueError, match="return_indices=True: a layer's forward returns y"):
            make()
    with pytest.raises(TypeError, match="return_indices must be True or False, got 1"):
        nn.MaxPool2d(2, return_indices=1)


@pytest.mark.parametrize("layer", [nn.MaxPool2d(3, 2, 1), nn.AdaptiveMaxPool2d((3, 4))])
def test_a_max_pool_layer_routes_the_indices_of_its_forward(layer, rng, monkeypatch):
    """The backward of a training step uses the forward's arg-max: it never pools again."""
    from convproof import functional
    x = rng.integers(-2, 3, size=(2, 3, 9, 8)).astype(np.float64)  # ties
    y = layer.forward(x)
    g = rng.standard_normal(y.shape)
    name = "max_pool2d" if isinstance(layer, nn.MaxPool2d) else "adaptive_max_pool2d"
    expected = getattr(functional, f"{name}_backward")(g, x, *layer.options.values())

    def no_second_forward(*args, **kwargs):
        raise AssertionError("the backward pooled again")
    monkeypatch.setattr(f"convproof.cpu.{name.removesuffix('2d')}", no_second_forward)
    np.testing.assert_array_equal(layer.backward(g), expected)


def test_avg_pool_matches_torch(rng, torch):
    for _ in range(TRIALS):
        x = images(rng, low=3)
        window = draw_window(rng, x.shape[2:])
        window.pop("dilation")
        window["count_include_pad"] = bool(rng.integers(0, 2))
        if all(n + 2 * p >= k for n, k, p in zip(x.shape[2:], window["kernel_size"],
                                                  window["padding"])):
            compare_module(torch, nn.AvgPool2d(**window), torch.nn.AvgPool2d(**window), x, rng)


@pytest.mark.parametrize("name", ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
def test_adaptive_pools_match_torch(name, rng, torch):
    for _ in range(TRIALS):
        x = images(rng)
        output_size = tuple(int(rng.integers(1, n + 3)) for n in x.shape[2:])
        if rng.random() < 0.3:
            output_size = (None, output_size[1])
        elif rng.random() < 0.3:
            output_size = output_size[0]
        compare_module(torch, getattr(nn, name)(output_size),
                       getattr(torch.nn, name)(output_size), x, rng)


def test_global_average_pool_matches_torch_mean(rng, torch):
    x = images(rng)
    compare_with_torch(torch, nn.GlobalAvgPool2d(), lambda t: t.mean(dim=(2, 3)), {}, x, rng)
    assert nn.GlobalAvgPool2d().forward(x).shape == x.shape[:2]


# --------------------------------------------------------------------------------------------
# Batch norm
# --------------------------------------------------------------------------------------------

def batch_norm_pair(torch, rng, name: str, channels: int, **options):
    ours = getattr(nn, name)(channels, dtype=np.float64, **options)
    if ours.affine:
        ours.weight.data = rng.uniform(0.5, 2.0, channels)
        ours.bias.data = rng.standard_normal(channels)
    theirs = getattr(torch.nn, name)(channels, **options)
    copy_into_torch(torch, ours, theirs)
    return ours, theirs


BATCH_NORM_CASES = [
    ("BatchNorm2d", (4, 3, 5, 6), {}),
    ("BatchNorm2d", (2, 5, 3, 2), {"momentum": 0.3}),
    ("BatchNorm2d", (3, 2, 4, 4), {"momentum": None}),
    ("BatchNorm2d", (2, 3, 3, 3), {"affine": False}),
    ("BatchNorm1d", (6, 4), {}),
    ("BatchNorm1d", (3, 4, 7), {"eps": 1e-3}),
]


@pytest.mark.parametrize("name, shape, options", BATCH_NORM_CASES)
def test_batch_norm_matches_torch_over_steps_and_in_eval(name, shape, options, rng, torch):
    ours, theirs = batch_norm_pair(torch, rng, name, shape[1], **options)
    for _ in range(4):  # training: batch statistics, running averages with unbiased variance
        x = rng.normal(rng.uniform(-2, 2), rng.uniform(0.5, 3), shape)
        compare_module(torch, ours, theirs, x, rng)
        assert_close(ours.running_mean, theirs.running_mean)
        assert_close(ours.running_var, theirs.running_var)
        assert ours.num_batches_tracked == int(theirs.num_batches_tracked)
    ours.eval()
    theirs.eval()
    compare_module(torch, ours, theirs, rng.standard_normal(shape), rng)


def test_batch_norm_without_running_statistics_matches_torch(rng, torch):
    ours, theirs = batch_norm_pair(torch, rng, "BatchNorm2d", 3, track_running_stats=False)
    assert dict(ours.named_buffers()) == {}
    ours.eval()
    theirs.eval()  # batch statistics even in eval mode
    compare_module(torch, ours, theirs, rng.standard_normal((3, 3, 4, 4)), rng)


def test_batch_norm_normalizes_each_channel(rng):
    """Training output: mean 0, variance 1/(1 + eps/var) per channel before gamma, beta."""
    x = rng.normal(3.0, 2.0, (8, 4, 5, 5))
    y = nn.BatchNorm2d(4, dtype=np.float64).forward(x)
    assert np.abs(y.mean(axis=(0, 2, 3))).max() < 1e-12
    variance = x.var(axis=(0, 2, 3))
    assert_close(y.var(axis=(0, 2, 3)), variance / (variance + 1e-5))


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_with_probability_one_minus_p_and_scales(p, rng):
    x = rng.uniform(0.5, 2.0, (40, 50, 50))  # 100,000 positive entries
    layer = nn.Dropout(p, rng=rng)
    y = layer.forward(x)
    kept = y != 0
    n = x.size
    # the kept count is Binomial(n, 1 - p): within 5 standard deviations
    assert abs(kept.sum() - n * (1 - p)) < 5 * np.sqrt(n * p * (1 - p))
    assert_close(y[kept], x[kept] / (1 - p))
    # the expectation is preserved: E[y / x] = 1, up to 5 standard deviations of the mean
    assert abs((y / x).mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)
    g = rng.standard_normal(x.shape)
    assert_close(layer.backward(g), np.where(kept, g / (1 - p), 0.0))


def test_dropout_in_eval_mode_and_edge_probabilities(rng):
    x = rng.standard_normal((3, 4))
    g = rng.standard_normal((3, 4))
    layer = nn.Dropout(0.5, rng=rng).eval()
    assert np.array_equal(layer.forward(x), x)
    assert np.array_equal(layer.backward(g), g)
    assert np.array_equal(nn.Dropout(0.0).forward(x), x)
    everything = nn.Dropout(1.0)
    assert not everything.forward(x).any()
    assert not everything.backward(g).any()


def test_dropout_masks_are_seeded_and_fresh_per_call(rng):
    x = rng.uniform(1, 2, (64, 64))
    seed = int(rng.integers(2**32))
    first, second = nn.Dropout(0.5, rng=seed), nn.Dropout(0.5, rng=seed)
    a, b = first.forward(x), second.forward(x)
    assert np.array_equal(a, b)
    assert not np.array_equal(first.forward(x), a)


def test_dropout_float32_stays_float32(rng):
    x = rng.standard_normal((5, 6)).astype(np.float32)
    layer = nn.Dropout(0.3, rng=rng)
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(x).dtype == np.float32


# --------------------------------------------------------------------------------------------
# Activations, Linear, Flatten, Sequential
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ReLU", "Tanh", "Sigmoid"])
def test_activations_match_torch(name, rng, torch):
    shape = tuple(rng.integers(1, 6, int(rng.integers(1, 5))))
    x = rng.standard_normal(shape) * 4
    compare_module(torch, getattr(nn, name)(), getattr(torch.nn, name)(), x, rng)


def test_sigmoid_is_stable_for_large_inputs(rng, torch):
    x = rng.choice([-1, 1], 50) * rng.uniform(100, 1000, 50)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = nn.Sigmoid().forward(x)
    assert_close(y, torch.sigmoid(torch.tensor(x)))


def test_relu_subgradient_at_zero_is_zero(rng):
    layer = nn.ReLU()
    x = np.array([-1.5, 0.0, 2.5])
    layer.forward(x)
    assert np.array_equal(layer.backward(np.array([1.0, 1.0, 1.0])), [0.0, 0.0, 1.0])


def test_relu_passes_the_gradient_at_nan_as_torch_does(rng, torch):
    x = np.array([np.nan, -1.0, 0.0, 2.0, -np.inf, np.inf])
    g = rng.standard_normal(x.shape)
    layer = nn.ReLU()
    layer.forward(x)
    tx = torch.tensor(x, requires_grad=True)
    torch.relu(tx).backward(torch.tensor(g))
    np.testing.assert_array_equal(layer.backward(g), tx.grad.numpy())


def test_linear_matches_torch(rng, torch):
    for leading in [(5,), (2, 3), ()]:
        features = tuple(int(v) for v in rng.integers(1, 8, 2))
        bias = bool(rng.integers(0, 2))
        ours = nn.Linear(*features, bias, rng=rng, dtype=np.float64)
        theirs = torch.nn.Linear(*features, bias)
        copy_into_torch(torch, ours, theirs)
        compare_module(torch, ours, theirs, rng.standard_normal((*leading, features[0])), rng)


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (2, 3), (-3, -2)])
def test_flatten_matches_torch(start, end, rng, torch):
    x = rng.standard_normal(tuple(rng.integers(1, 5, 4)))
    compare_module(torch, nn.Flatten(start, end), torch.nn.Flatten(start, end), x, rng)


@pytest.mark.parametrize("layer", [
    nn.Conv2d(3, 4, 3, padding=1), nn.ConvTranspose2d(3, 4, 3, stride=2), nn.MaxPool2d(2),
    nn.AvgPool2d(2, ceil_mode=True), nn.AdaptiveAvgPool2d(2), nn.Dropout(0.5), nn.ReLU(),
    nn.Tanh(), nn.Sigmoid(), nn.Flatten(), nn.Flatten(0, 1)], ids=repr)
def test_an_empty_batch_passes_every_layer(layer, rng):
    """N = 0 gives the shapes of N = 1 with a 0 first (the batch, or the axis it is merged
    into), forward and backward, as PyTorch."""
    x = rng.standard_normal((1, 3, 7, 7))
    shapes = [out.shape for out in (layer.forward(x), layer.backward(layer.forward(x)))]
    y = layer.forward(x[:0])
    for got, one in zip((y.shape, layer.backward(y).shape), shapes):
        assert got == (0, *one[1:])


def test_sequential_network_matches_torch(rng, torch):
    """A small CNN with every kind of layer: forward, input and all parameter gradients.

    (No bias in the conv before batch norm: its gradient is 0 in training, up to rounding.)"""
    def build(m, **kw):
        norm = {"dtype": kw["dtype"]} if "dtype" in kw else {}
        return m.Sequential(
            m.Conv2d(3, 6, 3, 1, 1, bias=False, **kw), m.BatchNorm2d(6, **norm), m.ReLU(),
            m.MaxPool2d(2), m.Conv2d(6, 4, 3, 2, padding_mode="reflect", padding=1, **kw),
            m.Tanh(), m.AvgPool2d(2, 1), m.Flatten(), m.Linear(4 * 2 * 2, 5, **kw), m.Sigmoid(),
            m.Linear(5, 3, **kw))

    ours = build(nn, rng=rng, dtype=np.float64)
    theirs = build(torch.nn)
    copy_into_torch(torch, ours, theirs)
    for _ in range(2):
        compare_module(torch, ours, theirs, rng.standard_normal((4, 3, 10, 10)), rng)
    ours.eval()
    theirs.eval()
    compare_module(torch, ours, theirs, rng.standard_normal((2, 3, 10, 10)), rng)
