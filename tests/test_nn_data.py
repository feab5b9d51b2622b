"""Augmentation: each output is checked against the definition, with the random draws
recovered from the output itself (the inputs are continuous random values, so every shift,
flip or mixing partner is identified uniquely)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from convproof.nn import data
from test_nn_helpers import assert_close


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """y[c, h, w] = x[c, h - dy, w - dx], zeros outside: written with np.roll and masks."""
    moved = np.roll(image, (dy, dx), axis=(1, 2))
    height, width = image.shape[1:]
    rows = (np.arange(height) - dy >= 0) & (np.arange(height) - dy < height)
    cols = (np.arange(width) - dx >= 0) & (np.arange(width) - dx < width)
    return moved * rows[:, None] * cols[None, :]


def test_random_translation_shifts_each_image(rng):
    x = rng.standard_normal((12, 2, 7, 9))
    y = data.random_translation(x, 2, rng)
    shifts = set()
    for image, result in zip(x, y):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(result, shifted(image, dy, dx))]
        assert len(matches) == 1
        shifts.add(matches[0])
    assert len(shifts) > 1  # drawn per image


def test_translation_by_zero_is_the_identity_and_seeds_repeat(rng):
    x = rng.standard_normal((3, 1, 4, 4))
    assert np.array_equal(data.random_translation(x, 0, rng), x)
    seed = int(rng.integers(2**32))
    assert np.array_equal(data.random_translation(x, 1, seed), data.random_translation(x, 1, seed))


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_horizontal_flip(p, rng):
    x = rng.standard_normal((400, 1, 3, 4))
    y = data.horizontal_flip(x, p, rng)
    flipped = np.array([np.array_equal(b, a[..., ::-1]) for a, b in zip(x, y)])
    kept = np.array([np.array_equal(b, a) for a, b in zip(x, y)])
    assert np.all(flipped ^ kept)
    assert abs(flipped.mean() - p) <= 5 * np.sqrt(p * (1 - p) / len(x))


def partners(mixed_targets: np.ndarray) -> tuple[float, np.ndarray]:
    """With one class per image (t = I), row n of the mixed targets is lam e_n + (1-lam) e_j:
    the weight lam on the image itself and its partner j."""
    lam = np.diag(mixed_targets).copy()
    partner = np.array([np.argmax(np.where(np.arange(len(row)) == n, -1, row))
                        if row[n] < 1 else n for n, row in enumerate(mixed_targets)])
    return lam, partner


def test_mixup_is_one_convex_combination_of_images_and_labels(rng):
    n = 8
    x = rng.standard_normal((n, 3, 5, 5))
    y, t = data.mixup(x, np.eye(n), alpha=0.4, rng=rng)
    assert_close(t.sum(axis=1), np.ones(n))
    lam, partner = partners(t)
    mixed = lam < 1
    assert np.allclose(lam[mixed], lam[mixed][0])  # one lam per batch
    lam = lam[mixed][0] if mixed.any() else 1.0
    assert 0 <= lam <= 1
    assert_close(y, lam * x + (1 - lam) * x[partner])
    assert sorted(partner) == list(range(n))  # a permutation


def test_cutmix_pastes_one_box_and_weights_labels_by_area(rng):
    n, height, width = 6, 10, 8
    x = rng.standard_normal((n, 2, height, width))
    for _ in range(5):
        y, t = data.cutmix(x, np.eye(n), alpha=1.0, rng=rng)
        assert_close(t.sum(axis=1), np.ones(n))
        lam, partner = partners(t)
        inside = np.zeros((height, width), bool)
        for k in range(n):
            if partner[k] != k:
                inside = np.any(y[k] != x[k], axis=0)
                break
        rows, cols = np.nonzero(inside)
        box = np.zeros_like(inside)
        if rows.size:
            box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
        assert np.array_equal(inside, box)  # a rectangle
        expected = np.where(box, x[partner], x)
        assert np.array_equal(y, expected)
        moved = partner != np.arange(n)  # an image mixed with itself keeps its own label
        assert_close(lam[moved], np.full(moved.sum(), 1 - box.sum() / (height * width)))


def test_one_hot_and_minibatches(rng):
    labels = rng.integers(0, 4, 10)
    t = data.one_hot(labels, 4)
    assert t.dtype == np.float32 and np.array_equal(t.argmax(axis=1), labels)
    batches = list(data.minibatches(23, 5, rng))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate(batches)) == list(range(23))
    in_order = list(data.minibatches(np.int64(5), np.int64(2), shuffle=False))  # NumPy ints too
    assert [b.tolist() for b in in_order] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("call, name", [
    (lambda x, t, labels: data.one_hot(labels, 4), "labels"),
    (lambda x, t, labels: data.random_translation(np.ma.masked_less(x, 0), 1), "images"),
    (lambda x, t, labels: data.mixup(x, t), "targets"),
], ids=["one_hot", "random_translation", "mixup"])
def test_masked_arrays_are_refused_by_augmentation(call, name, rng):
    """A TypeError naming the argument, as in the layers: the mask would be ignored (a masked
    label of 10**6 escaped one_hot's range check)."""
    labels = np.ma.array(rng.integers(0, 4, 3), mask=[True, False, False])
    labels.data[0] = 10**6
    t = np.ma.masked_equal(data.one_hot(rng.integers(0, 4, 3), 4), 0)
    with pytest.raises(TypeError, match=re.escape(
            f"{name} is a masked array, whose mask convproof would ignore: pass "
            f"{name}.filled(value) or {name}.data")):
        call(rng.standard_normal((3, 1, 4, 4)), t, labels)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: data.random_translation(x[0], 1), ValueError,
     re.escape("images must have shape (N, C, H, W), got (1, 4, 4)")),
    (lambda x: data.random_translation(x, -1), ValueError,
     "max_shift must be a non-negative integer, got -1"),
    (lambda x: data.horizontal_flip(x, 2.0), ValueError,
     re.escape("p must be a probability in [0, 1], got 2.0")),
    (lambda x: data.mixup(x, np.arange(3)), ValueError,
     re.escape("targets must be probabilities of shape (3, K) (use one_hot on class labels), "
               "got (3,)")),
    (lambda x: data.random_translation(x.tolist(), 1), TypeError,
     re.escape("images must be an array (NumPy or CuPy), got list")),
    (lambda x: data.mixup(x, np.eye(3).tolist()), TypeError,
     re.escape("targets must be an array (NumPy or CuPy), got list")),
    (lambda x: data.cutmix(x, np.eye(3).astype(complex)), TypeError,
     "targets has dtype complex128, which is not a real number type"),
    (lambda x: data.cutmix(x, np.eye(3), alpha=0), ValueError,
     "alpha must be a finite positive number, got 0"),
    (lambda x: data.mixup(x, np.eye(3), alpha=np.inf), ValueError,
     "alpha must be a finite positive number, got inf"),
    (lambda x: data.one_hot(np.arange(3), 4, dtype=None), TypeError,
     "dtype must be float32 or float64, got None"),
    (lambda x: data.one_hot(np.arange(3), 4, dtype=int), TypeError,
     "dtype must be float32 or float64, got int64"),
    (lambda x: data.one_hot(np.arange(3), 2.5), TypeError,
     "classes must be a positive integer, got 2.5"),
    (lambda x: data.one_hot(np.zeros((2, 2), int), 4), ValueError,
     re.escape("labels must be a vector (N,), got shape (2, 2)")),
    (lambda x: data.one_hot(np.arange(3) + 0.5, 4), TypeError,
     "labels must be an integer array, got ndarray of dtype float64"),
    (lambda x: data.one_hot(np.arange(5), 4), ValueError,
     re.escape("labels must lie in [0, 4), got values from 0 to 4")),
    (lambda x: data.minibatches(5, 0), ValueError,  # at the call, not at the first batch
     "batch_size must be a positive integer, got 0"),
    (lambda x: data.minibatches(-3, 2), ValueError, "count must be a non-negative integer"),
    (lambda x: data.minibatches(2.5, 1), TypeError, "count must be a non-negative integer"),
    (lambda x: data.minibatches(True, 1), TypeError, "count must be a non-negative integer"),
    (lambda x: data.minibatches(4, 2, shuffle=None), TypeError,
     "shuffle must be True or False, got None"),
])
def test_bad_augmentation_arguments(call, error, message, rng):
    with pytest.raises(error, match=message):
        call(rng.standard_normal((3, 1, 4, 4)))
