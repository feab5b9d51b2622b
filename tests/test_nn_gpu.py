"""The same layers, optimizers and augmentations on CuPy arrays: results equal NumPy's.

Skipped cleanly without CuPy or a CUDA device (marker ``gpu``).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from convproof import nn
from test_nn_helpers import assert_close

pytestmark = pytest.mark.gpu


@pytest.fixture
def cupy():
    return pytest.importorskip("cupy")


def network(rng) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, padding_mode="reflect", rng=rng, dtype=np.float64),
        nn.BatchNorm2d(6, dtype=np.float64), nn.ReLU(), nn.MaxPool2d(2),
        nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, rng=rng,
                           dtype=np.float64),
        nn.Tanh(), nn.AvgPool2d(2), nn.AdaptiveMaxPool2d(2), nn.Flatten(),
        nn.Linear(16, 5, rng=rng, dtype=np.float64), nn.Sigmoid())


def test_network_on_cupy_matches_numpy(rng, cupy):
    host = network(rng)
    device = copy.deepcopy(host).to("gpu")
    x = rng.standard_normal((3, 3, 8, 8))
    y = host.forward(x)
    y_device = device.forward(cupy.asarray(x))
    assert isinstance(y_device, cupy.ndarray)
    assert_close(cupy.asnumpy(y_device), y)
    g = rng.standard_normal(y.shape)
    assert_close(cupy.asnumpy(device.backward(cupy.asarray(g))), host.backward(g))
    conv_bias = host[0].bias  # batch norm follows: its gradient is 0 up to rounding
    for ours, theirs in zip(device.parameters(), host.parameters()):
        if theirs is conv_bias:
            scale = np.abs(host[0].weight.grad).max()
            assert np.abs(cupy.asnumpy(ours.grad)).max() <= 1e-12 * scale
            assert np.abs(theirs.grad).max() <= 1e-12 * scale
        else:
            assert_close(cupy.asnumpy(ours.grad), theirs.grad)
    assert_close(cupy.asnumpy(device[1].running_var), host[1].running_var)
    device.to("cpu")
    assert all(isinstance(p.data, np.ndarray) for p in device.parameters())


@pytest.mark.parametrize("build", [lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
                                   lambda ps: nn.optim.Adam(ps, lr=0.01)])
def test_optimizers_on_cupy(build, rng, cupy):
    start = rng.standard_normal((4, 5))
    host, device = nn.Parameter(start.copy()), nn.Parameter(cupy.asarray(start))
    host_optimizer, device_optimizer = build([host]), build([device])
    for _ in range(4):
        g = rng.standard_normal((4, 5))
        host.zero_grad(), device.zero_grad()
        host.accumulate(g), device.accumulate(cupy.asarray(g))
        host_optimizer.step(), device_optimizer.step()
    assert_close(cupy.asnumpy(device.data), host.data)


def test_dropout_and_augmentation_on_cupy(rng, cupy):
    x = cupy.asarray(rng.uniform(0.5, 1.5, (16, 3, 20, 20)))
    y = nn.Dropout(0.25, rng=rng).forward(x)
    assert isinstance(y, cupy.ndarray)
    kept = float((y != 0).mean())
    assert abs(kept - 0.75) < 0.03
    t = nn.data.one_hot(cupy.asarray(rng.integers(0, 4, 16)), 4)
    for images in (nn.data.random_translation(x, 2, rng), nn.data.horizontal_flip(x, 0.5, rng),
                   nn.data.mixup(x, t, 0.4, rng)[0], nn.data.cutmix(x, t, 1.0, rng)[0]):
        assert isinstance(images, cupy.ndarray) and images.shape == x.shape


def test_lenet_example_on_the_gpu(cupy):
    pytest.importorskip("sklearn")
    from convproof.examples import lenet
    summary = lenet.run(epochs=1, device="gpu")
    assert summary["test_accuracy"] > 0.3
