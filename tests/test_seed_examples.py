"""The worked examples of the lecture notes, computed through the float64 reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from convproof import nn, reference
from convproof.spec import ConvSpec, conv_spec_for


def correlate2d(image, kernel, **kwargs) -> np.ndarray:
    """One-channel 2-D correlation of an (H, W) image with a (k, k) kernel, as (H', W')."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    return reference.conv(image[None, None], kernel[None, None], **kwargs)[0, 0]


# --------------------------------------------------------------------------------------------
# The binary image and the three-channel example
# --------------------------------------------------------------------------------------------

def test_binary_image_with_x_filter():
    image = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
    kernel = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    np.testing.assert_array_equal(correlate2d(image, kernel),
                                  [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


# The visible 5x5 corner of each channel (the notes show it inside a border of zero padding).
RED = [[156, 155, 156, 158, 158], [153, 154, 157, 159, 159], [149, 151, 155, 158, 159],
       [146, 146, 149, 153, 158], [145, 143, 143, 148, 158]]
GREEN = [[167, 166, 167, 169, 169], [164, 165, 168, 170, 170], [160, 162, 166, 169, 170],
         [156, 156, 159, 163, 168], [155, 153, 153, 158, 168]]
BLUE = [[163, 162, 163, 165, 165], [160, 161, 164, 166, 166], [156, 158, 162, 165, 166],
        [155, 155, 158, 162, 167], [154, 152, 152, 157, 167]]
KERNELS = [[[-1, -1, 1], [0, 1, -1], [0, 1, 1]],
           [[1, 0, 0], [1, -1, -1], [1, 0, -1]],
           [[0, 1, 1], [0, 1, 0], [1, -1, 1]]]


def test_three_channel_example():
    per_channel = [correlate2d(channel, kernel, padding=1)[0, 0]
                   for channel, kernel in zip((RED, GREEN, BLUE), KERNELS)]
    assert per_channel == [308, -498, 164]
    y = reference.conv(np.array([[RED, GREEN, BLUE]]), np.array([KERNELS]), np.array([1]),
                       padding=1)
    assert y.shape == (1, 1, 5, 5)
    assert y[0, 0, 0, 0] == -25
    # the volume conv is the sum of the per-channel convs plus the bias, at every position
    channel_sums = sum(correlate2d(channel, kernel, padding=1)
                       for channel, kernel in zip((RED, GREEN, BLUE), KERNELS))
    np.testing.assert_array_equal(y[0, 0], channel_sums + 1)


# --------------------------------------------------------------------------------------------
# Output sizes
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, size", [
    ({"stride": 1}, 5), ({"stride": 2}, 3), ({"stride": 3}, 2), ({"dilation": 2}, 3),
    ({"padding": 1}, 7),
])
def test_seven_by_seven_input_three_by_three_filter(rng, options, size):
    y = reference.conv(rng.standard_normal((1, 1, 7, 7)), rng.standard_normal((1, 1, 3, 3)),
                       **options)
    assert y.shape == (1, 1, size, size)


def test_stride_three_does_not_fit(rng):
    """(7 - 3)/3 + 1 = 2.33: two windows, and the last input row and column are never read."""
    spec = ConvSpec(1, 1, (3, 3), stride=3)
    assert spec.unused((7, 7)) == (1, 1)
    with pytest.raises(ValueError, match=r"stride 3 leaves 1 trailing input row\(s\) of dim 0"):
        spec.replace(strict=True).output_size((7, 7))
    x = rng.standard_normal((1, 1, 7, 7))
    w = rng.standard_normal((1, 1, 3, 3))
    changed = x.copy()
    changed[..., 6, :] = rng.standard_normal(7)
    changed[..., :, 6] = rng.standard_normal(7)
    np.testing.assert_array_equal(reference.conv(x, w, stride=3),
                                  reference.conv(changed, w, stride=3))


@pytest.mark.parametrize("m, k", [(5, 3), (7, 3), (8, 5), (4, 1), (6, 2)])
def test_valid_same_full_sizes(rng, m, k):
    x = rng.standard_normal((1, 1, m))
    w = rng.standard_normal((1, 1, k))
    assert reference.conv(x, w, padding="valid").shape[-1] == m - k + 1
    assert reference.conv(x, w, padding="same").shape[-1] == m
    assert reference.conv(x, w, padding="full").shape[-1] == m + k - 1


@pytest.mark.parametrize("k", [3, 5, 7])
def test_zero_padding_of_half_the_filter_keeps_the_size(rng, k):
    """F = 3, 5, 7 with zero padding (F - 1)/2 = 1, 2, 3 keep a 7x7 input 7x7 (stride 1)."""
    y = reference.conv(rng.standard_normal((1, 1, 7, 7)), rng.standard_normal((1, 1, k, k)),
                       padding=(k - 1) // 2)
    assert y.shape == (1, 1, 7, 7)


def test_six_five_by_five_filters_on_a_32x32x3_image(rng):
    """Six 5x5x3 filters give six 28x28 activation maps; a second 5x5 layer 24x24 (32 -> 28
    -> 24: shrinking by 4 a layer)."""
    spec = conv_spec_for((1, 3, 32, 32), (6, 3, 5, 5), dims=2)
    assert spec.output_size((32, 32)) == (28, 28)
    y = reference.conv(rng.standard_normal((1, 3, 32, 32)), rng.standard_normal((6, 3, 5, 5)))
    assert y.shape == (1, 6, 28, 28)
    assert reference.conv(y, rng.standard_normal((10, 6, 5, 5))).shape == (1, 10, 24, 24)


def test_an_image_stretched_to_a_vector():
    """A 32x32x3 image is 3072 numbers; the 4x4 example reads row by row."""
    assert nn.Flatten().forward(np.ones((1, 3, 32, 32))).shape == (1, 3072)
    image = np.array([[0, 0, 3, 2], [1, 1, 0, 1], [4, 2, 1, 2], [0, 2, 1, 5]], dtype=float)
    column = nn.Flatten().forward(image[None, None])[0]
    np.testing.assert_array_equal(column[:8], [0, 0, 3, 2, 1, 1, 0, 1])
    np.testing.assert_array_equal(column[-3:], [2, 1, 5])


def test_a_dense_layer_on_a_224x224_rgb_image():
    """224·224·3 = 150,528 inputs; a dense layer as wide needs 150,528² > 22 billion weights,
    a 3x3 conv of as many outputs (3 channels in and out, 'same' padding) 81."""
    inputs = 224 * 224 * 3
    assert inputs == 150_528 and inputs**2 == 22_658_678_784
    assert math.prod(ConvSpec(3, 3, (3, 3), padding=1).weight_shape) == 81


# --------------------------------------------------------------------------------------------
# Where the notes are wrong: the weight gradient's order, batch norm without epsilon
# --------------------------------------------------------------------------------------------

def notes_star(f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The notes' (f ⋆ g)(x) = Σ_τ f(τ) g(x + τ) of finite 1-D signals, for x from -(len(f) - 1)
    to len(g) - 1 (its support)."""
    return np.array([sum(f[t] * g[x + t] for t in range(len(f)) if 0 <= x + t < len(g))
                     for x in range(-(len(f) - 1), len(g))])


def test_the_kernel_gradient_is_e_star_x_not_x_star_e(rng):
    """With y[i] = Σ_m w[m] x[i + m], ∂L/∂w[m] = Σ_i E[i] x[i + m] = (E ⋆ X)(m); the notes'
    X ⋆ E gives it reversed, (X ⋆ E)(m) = ∂L/∂w[-m]."""
    x, k = rng.standard_normal(9), 3
    error = rng.standard_normal(9 - k + 1)
    grad = reference.conv_weight_grad(x[None, None], (1, 1, k), error[None, None])[0, 0]
    offset = len(error) - 1  # index of x = 0 in the star's support
    np.testing.assert_allclose(notes_star(error, x)[offset:offset + k], grad, rtol=1e-12)
    reverse = notes_star(x, error)  # support -(9 - 1) .. len(error) - 1
    np.testing.assert_allclose(reverse[8 - (k - 1):9][::-1], grad, rtol=1e-12)


def test_batch_norm_of_a_constant_channel_is_finite(rng):
    """σ = 0 on a constant channel: the notes' division by σ is 0/0; with ε it is 0."""
    x = rng.standard_normal((4, 2, 3, 3))
    x[:, 1] = 2.5
    y = nn.BatchNorm2d(2).forward(x)
    assert np.isfinite(y).all()
    np.testing.assert_array_equal(y[:, 1], 0.0)


# --------------------------------------------------------------------------------------------
# The 760-parameter layer
# --------------------------------------------------------------------------------------------

def test_seven_hundred_sixty_parameter_layer(rng):
    """32x32x3 input, 10 filters 5x5x3, stride 1, pad 2: (5*5*3 + 1) * 10 = 760 parameters."""
    spec = conv_spec_for((1, 3, 32, 32), (10, 3, 5, 5), (10,), dims=2, padding=2)
    assert math.prod(spec.weight_shape) + spec.out_channels == 760
    x = rng.standard_normal((1, 3, 32, 32))
    w, b = rng.standard_normal((10, 3, 5, 5)), rng.standard_normal(10)
    y = reference.conv(x, w, b, padding=2)
    assert y.shape == (1, 10, 32, 32)
    g = rng.standard_normal(y.shape)
    grad_w = reference.conv_weight_grad(x, w.shape, g, padding=2)
    assert grad_w.size + reference.conv_bias_grad(g).size == 760
    # each output map depends on its own 76 parameters only
    w_changed, b_changed = w.copy(), b.copy()
    w_changed[4] = rng.standard_normal((3, 5, 5))
    b_changed[4] = b[4] + 1.0
    y_changed = reference.conv(x, w_changed, b_changed, padding=2)
    others = [o for o in range(10) if o != 4]
    np.testing.assert_array_equal(y_changed[:, others], y[:, others])
    assert not np.allclose(y_changed[:, 4], y[:, 4])


# --------------------------------------------------------------------------------------------
# Named kernels on images with known answers
# --------------------------------------------------------------------------------------------

VERTICAL = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]
HORIZONTAL = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SOBEL_Y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
SCHARR_X = [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]
SCHARR_Y = [[-3, -10, -3], [0, 0, 0], [3, 10, 3]]
EMBOSS = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
SHARPEN = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
BOX_BLUR = np.full((3, 3), 1 / 9)
GAUSSIAN = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
EDGE = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]

LEFT, RIGHT = 2.0, 7.0  # a vertical step edge: columns 0-2 are LEFT, columns 3-5 RIGHT
STEP = np.where(np.arange(6) < 3, LEFT, RIGHT)[None, :].repeat(6, axis=0)


def step_response(column_sums) -> np.ndarray:
    """Valid correlation of STEP with a kernel whose column sums are given: window j covers
    columns j, j+1, j+2, so the response is sum_c column_sums[c] * STEP[., j + c] on every row."""
    row = [sum(c * STEP[0, j + i] for i, c in enumerate(column_sums)) for j in range(4)]
    return np.tile(row, (4, 1))


@pytest.mark.parametrize("kernel, across_edge, finds", [
    (VERTICAL, 3 * (LEFT - RIGHT), "vertical"), (SOBEL_X, 4 * (RIGHT - LEFT), "vertical"),
    (SCHARR_X, 16 * (RIGHT - LEFT), "vertical"), (EDGE, 4 * (LEFT - RIGHT), "vertical"),
    (HORIZONTAL, 3 * (LEFT - RIGHT), "horizontal"), (SOBEL_Y, 4 * (RIGHT - LEFT), "horizontal"),
    (SCHARR_Y, 16 * (RIGHT - LEFT), "horizontal"),
])
def test_edge_kernels_respond_along_their_edge_only(kernel, across_edge, finds):
    """Windows 1 and 2 straddle the edge and respond with the kernel's sign (a flipped kernel
    answers with the opposite one); the flat windows 0 and 3 and the other orientation give 0.
    STEP.T is a horizontal step edge: rows 0-2 LEFT, rows 3-5 RIGHT."""
    expected = np.tile([0.0, across_edge, across_edge, 0.0], (4, 1))
    edge, other = (STEP, STEP.T) if finds == "vertical" else (STEP.T, STEP)
    if finds == "horizontal":
        expected = expected.T
    np.testing.assert_allclose(correlate2d(edge, kernel), expected, rtol=1e-14)
    np.testing.assert_array_equal(correlate2d(other, kernel), np.zeros((4, 4)))


@pytest.mark.parametrize("kernel, column_sums", [
    (EMBOSS, [-3, 1, 3]), (SHARPEN, [-1, 3, -1]), (BOX_BLUR, [1 / 3] * 3),
    (GAUSSIAN, [1 / 4, 1 / 2, 1 / 4]),
])
def test_emboss_sharpen_and_blurs_on_the_step(kernel, column_sums):
    """E.g. emboss, window 1: -3 LEFT + LEFT + 3 RIGHT; its flip would give 4 LEFT - 3 RIGHT."""
    np.testing.assert_allclose(correlate2d(STEP, kernel), step_response(column_sums), rtol=1e-14)


@pytest.mark.parametrize("kernel", [SHARPEN, EMBOSS, BOX_BLUR, GAUSSIAN])
def test_kernels_summing_to_one_preserve_a_constant_image(rng, kernel):
    level = rng.uniform(1, 10)
    np.testing.assert_allclose(correlate2d(np.full((6, 7), level), kernel),
                               np.full((4, 5), level), rtol=1e-14)
