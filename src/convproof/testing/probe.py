"""Probe batches: the inputs that reveal what an implementation computes.

A linear or affine map y = M x + y0 on arrays of shape (C, *spatial) is recovered from one
batched call: a zero input gives y0 (the bias), the impulse e_j at channel and pixel j gives
M e_j + y0, the column j of M.  A few standard-normal inputs follow, so that the same call also
shows whether the function is affine at all.  Pooling is not linear: its probes raise one pixel
far above a random negative background, so that every window containing it shows it.
"""

from __future__ import annotations

import math

import numpy as np

EXTRA = 2  # random inputs after the impulses


def impulses(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A zero input, one impulse per channel and pixel, then EXTRA standard-normal inputs."""
    size = math.prod(shape)
    rows = [np.zeros((1, size)), np.eye(size), rng.standard_normal((EXTRA, size))]
    return np.concatenate(rows).reshape((-1, *shape))


def recover(outputs: np.ndarray, in_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(M, y0) from the outputs of :func:`impulses`: y0 = y(0), M[:, j] = y(e_j) - y0,
    with M of shape (output size per sample, input size per sample)."""
    size = math.prod(in_shape)
    affine = outputs[0].ravel()
    matrix = outputs[1:1 + size].reshape(size, -1) - affine
    return matrix.T, affine


def raised_pixels(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """For every pixel j of (C, *spatial): a background in (-2, -1) with pixel j raised to
    +1 in every channel; then EXTRA standard-normal inputs."""
    channels, spatial = shape[0], shape[1:]
    pixels = math.prod(spatial)
    background = -rng.uniform(1.0, 2.0, (pixels, channels, pixels))
    background[np.arange(pixels), :, np.arange(pixels)] = 1.0
    probes = background.reshape((pixels, *shape))
    return np.concatenate([probes, rng.standard_normal((EXTRA, *shape))])
