"""Initializers: fans, the variances of the notes (He, Xavier), bounds, seeds, constant 0.1.

Variances are estimated from 200,000 draws: the relative standard error of a sample variance
is sqrt(2/n) ~ 0.3% (normal) and smaller for uniform draws, so 3% is a wide margin.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from convproof import nn

init = nn.init
SHAPE = (200, 125, 2, 4)  # 200,000 entries; fan_in = 125*8 = 1000, fan_out = 200*8 = 1600


def test_fans_of_conv_and_linear_weights():
    assert init.fans(SHAPE) == (1000, 1600)
    assert init.fans((7, 3)) == (3, 7)
    assert init.fans(nn.Conv2d(3, 10, 5).weight.shape) == (75, 250)
    with pytest.raises(ValueError, match=r"at least 2 dims .* got shape \(5,\)"):
        init.fans((5,))
    for shape in [(4, 0, 3), (3, -2), (3.5, 2), (True, 2)]:
        with pytest.raises(ValueError, match=re.escape(f"shape of positive ints, got {shape}")):
            init.fans(shape)


def test_he_by_fan_out_keeps_a_transposed_conv_s_variance(rng):
    """A transposed conv's weight is (C_in, C_out, k, k): its forward sums C_in k^2 products,
    the fan_out read from that layout.  At stride 1, x of unit variance, interior outputs
    then have variance C_in k^2 sigma^2 = 2; by the default fan_in, 2 C_in / C_out = 16."""
    layer = nn.ConvTranspose2d(64, 8, 3, rng=rng)
    init.he_normal(layer.weight, rng=rng, mode="fan_out")
    init.constant(layer.bias, 0.0)
    assert abs(layer.weight.data.var() * 64 * 9 / 2 - 1) < 0.1
    y = layer.forward(rng.standard_normal((4, 64, 12, 12)))[:, :, 2:-2, 2:-2]
    assert abs(y.var() / 2 - 1) < 0.15
    init.he_uniform(layer.weight, rng=rng, mode="fan_out")
    assert np.abs(layer.weight.data).max() <= math.sqrt(6 / (64 * 9))
    with pytest.raises(ValueError, match=re.escape(
            "mode must be one of ('fan_in', 'fan_out'), got 'fan_avg'")):
        init.he_normal(layer.weight, mode="fan_avg")


@pytest.mark.parametrize("initializer, variance, bound", [
    (init.he_normal, 2 / 1000, None),
    (init.he_uniform, 2 / 1000, math.sqrt(6 / 1000)),
    (init.xavier_normal, 2 / 2600, None),
    (init.xavier_uniform, 2 / 2600, math.sqrt(6 / 2600)),
    (init.fan_in_uniform, 1 / 3000, math.sqrt(1 / 1000)),
])
def test_variances_and_bounds(initializer, variance, bound, rng):
    w = np.empty(SHAPE)
    result = initializer(w, rng=rng)
    assert result is w
    assert abs(w.mean()) < 5 * math.sqrt(variance / w.size)
    assert abs(w.var() / variance - 1) < 0.03
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound


def test_uniform_default_interval_and_constant_default(rng):
    w = init.uniform(np.empty(10_000), rng=rng)
    assert 0 <= w.min() and w.max() < 1
    assert abs(w.mean() - 0.5) < 0.02
    bias = nn.Parameter(rng.standard_normal(5).astype(np.float32))
    init.constant(bias)
    assert np.array_equal(bias.data, np.full(5, 0.1, dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_stays_in_its_half_open_interval_after_the_cast(dtype, monkeypatch):
    """A float64 draw within 2^-25 of 1 rounded to 1.0 in float32 (about 3e-8 per entry);
    bounds that no float32 holds exactly (±1/√27) are kept from inside too."""
    class Edges:
        def uniform(self, low, high, shape):
            return np.resize([low, np.nextafter(high, low), 0.5 * (low + high)], shape)
    monkeypatch.setattr(init, "as_generator", lambda rng: Edges())
    for low, high in ((0.0, 1.0), (-1 / math.sqrt(27), 1 / math.sqrt(27)), (0.7, 1.0)):
        w = init.uniform(np.empty(6, dtype=dtype), low, high)
        # compared in float64: NumPy 2 compares a float32 with a float in float32
        assert w.dtype == dtype and low <= float(w.min()) and float(w.max()) < high, (low, w)
    with pytest.raises(ValueError, match="no float16 number lies in \\[low, high\\)"):
        init.uniform(np.empty(3, dtype=np.float16), 0.1, 0.10001)


def test_seeded_and_in_place_on_parameters(rng):
    seed = int(rng.integers(2**32))
    first, second = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)
    before = first.weight.data
    init.he_normal(first.weight, rng=seed)
    init.he_normal(second.weight, rng=seed)
    assert first.weight.data is before and first.weight.data.dtype == np.float32
    assert np.array_equal(first.weight.data, second.weight.data)
    init.he_normal(second.weight, rng=seed + 1)
    assert not np.array_equal(first.weight.data, second.weight.data)


def test_layers_built_with_the_same_seed_are_equal(rng):
    seed = int(rng.integers(2**32))
    a, b = nn.Linear(6, 4, rng=seed), nn.Linear(6, 4, rng=seed)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))


def test_bad_initializer_arguments(rng):
    with pytest.raises(TypeError, match="tensor must be a floating array, got dtype int64"):
        init.uniform(rng.integers(1, 9, 3))
    for initializer in (init.he_normal, init.he_uniform, init.xavier_normal,
                        init.xavier_uniform, init.fan_in_uniform):
        with pytest.raises(TypeError, match=re.escape("tensor must be an array (NumPy or CuPy), "
                                                      "got list")):
            initializer([[1.0, 2.0], [3.0, 4.0]])
        with pytest.raises(ValueError, match=re.escape("positive ints, got (4, 0, 3)")):
            initializer(np.empty((4, 0, 3)))
    single = np.empty(4, dtype=np.float32)
    for call in (lambda: init.uniform(single, 1e39, 2e39), lambda: init.constant(single, 1e39),
                 lambda: init.normal(single, std=1e39, rng=rng)):
        with pytest.raises(ValueError, match="overflow the tensor's dtype float32"):
            call()
    assert np.isfinite(init.uniform(single, 3e38, 3.4e38, rng=rng)).all()
    with pytest.raises(ValueError, match="high must exceed low, got low=1.0, high=0.0"):
        init.uniform(np.empty(3), 1.0, 0.0)
    w = np.empty((3, 3))
    for call, message in [
            (lambda: init.xavier_normal(w, gain=-1), r"gain must be a number in \(0, inf\), "
                                                     r"got -1"),
            (lambda: init.xavier_normal(w, gain=np.inf), r"gain must be .* got inf"),
            (lambda: init.normal(w, std="1"), r"std must be a number in \(0, inf\), got '1'"),
            (lambda: init.normal(w, std=None), r"std must be .* got None"),
            (lambda: init.uniform(w, 0, np.inf), r"high must be a number .* got inf"),
            (lambda: init.uniform(w, -1e308, 1e308), "high - low must be a finite number"),
            (lambda: init.constant(w, None), r"value must be a number .* got None"),
            (lambda: init.constant(w, "0.5"), r"value must be a number .* got '0.5'"),
            (lambda: init.constant(w, True), r"value must be a number .* got True"),
            (lambda: init.constant(w, np.array([1.0, 2.0, 3.0])), r"value must be a number"),
            (lambda: init.fan_in_uniform(w, fan_in=2.5), "fan_in must be a positive int or "
                                                          "None, got 2.5"),
            (lambda: init.fan_in_uniform(w, fan_in=True), "fan_in must be a positive int")]:
        with pytest.raises(ValueError, match=message):
            call()
    assert np.all(init.constant(w, np.float32(0.5)) == 0.5)  # NumPy numbers are numbers


def test_a_read_only_array_is_refused_by_name():
    """NumPy's own message named neither the tensor nor its shape."""
    frozen = np.ones((3, 4))
    frozen.setflags(write=False)
    for initialize in (nn.init.constant, nn.init.uniform, nn.init.normal):
        with pytest.raises(ValueError, match=r"tensor of shape \(3, 4\) is read-only"):
            initialize(frozen)


class _DeviceLike(np.ndarray):
    """An array whose flags say nothing of writing, as CuPy's do."""

    @property
    def flags(self):
        return type("Flags", (), {"c_contiguous": True, "f_contiguous": False,
                                  "owndata": True})()


def test_an_array_whose_flags_do_not_say_writeable_is_filled(rng):
    weight = np.zeros((3, 4)).view(_DeviceLike)
    nn.init.uniform(weight, -1.0, 1.0, rng=rng)
    assert np.asarray(weight).any()
