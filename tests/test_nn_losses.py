"""Softmax cross-entropy and mean squared error against PyTorch: values and gradients."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from convproof import nn
from test_nn_helpers import assert_close, tensor

losses = nn.losses


def torch_value_and_grad(torch, function, logits, *args, **kwargs):
    z = tensor(torch, logits, grad=True)
    value = function(z, *args, **kwargs)
    value.backward()
    return value.detach().numpy(), z.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_with_labels_matches_torch(reduction, rng, torch):
    batch, classes = int(rng.integers(1, 9)), int(rng.integers(2, 9))  # 1 class: loss is 0
    z = rng.standard_normal((batch, classes)) * 3
    labels = rng.integers(0, classes, batch)
    loss, grad = losses.softmax_cross_entropy(z, labels, reduction)
    value, expected = torch_value_and_grad(torch, torch.nn.functional.cross_entropy, z,
                                           torch.tensor(labels), reduction=reduction)
    assert_close(loss, value)
    assert_close(grad, expected)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_losses_of_no_samples_are_as_in_torch(reduction, torch):
    """The mean of nothing is nan, the sum 0; the gradients are empty."""
    z = np.ones((0, 4))
    losses_and_torch = [
        (losses.softmax_cross_entropy(z, np.zeros(0, dtype=np.int64), reduction),
         torch.nn.functional.cross_entropy(tensor(torch, z), torch.zeros(0, dtype=torch.int64),
                                           reduction=reduction)),
        (losses.mean_squared_error(z, z, reduction),
         torch.nn.functional.mse_loss(tensor(torch, z), tensor(torch, z), reduction=reduction)),
    ]
    for (loss, grad), expected in losses_and_torch:
        np.testing.assert_array_equal(loss, expected.numpy())
        assert grad.shape == z.shape


def test_cross_entropy_with_probabilities_matches_torch(rng, torch):
    z = rng.standard_normal((6, 5))
    target = rng.dirichlet(np.ones(5), 6)
    loss, grad = losses.softmax_cross_entropy(z, target)
    value, expected = torch_value_and_grad(torch, torch.nn.functional.cross_entropy, z,
                                           tensor(torch, target))
    assert_close(loss, value)
    assert_close(grad, expected)


def test_cross_entropy_gradient_is_softmax_minus_target(rng):
    z = rng.standard_normal((4, 7))
    labels = rng.integers(0, 7, 4)
    _, grad = losses.softmax_cross_entropy(z, labels, "sum")
    exp = np.exp(z)
    assert_close(grad, exp / exp.sum(axis=1, keepdims=True) - np.eye(7)[labels])


def test_cross_entropy_is_stable_for_huge_logits(rng, torch):
    z = rng.standard_normal((3, 4)) * 1e4
    labels = rng.integers(0, 4, 3)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = losses.softmax_cross_entropy(z, labels)
    value, expected = torch_value_and_grad(torch, torch.nn.functional.cross_entropy, z,
                                           torch.tensor(labels))
    assert_close(loss, value)
    assert_close(grad, expected)


def _cross_entropy_by_hand(z, weights):
    """(1/N) sum_n sum_c y_nc (lse(z_n) - z_nc) in Python floats, classes of weight 0 left out."""
    total = 0.0
    for row, y in zip(z.tolist(), weights.tolist()):
        top = max(row)
        lse = top + math.log(sum(math.exp(v - top) for v in row))
        total += sum(w * (lse - v) for w, v in zip(y, row) if w != 0)
    return total / len(z)


def test_cross_entropy_of_masked_and_overflowing_logits_is_finite(rng):
    """A class of target weight 0 adds 0, even where its log-probability is -inf: a logit of
    -inf (a masked class), or a finite one whose difference from the largest overflows."""
    masked = rng.standard_normal((5, 6)) * 3
    labels = rng.integers(0, 6, 5)
    masked[rng.random((5, 6)) < 0.4] = -np.inf
    masked[np.arange(5), labels] = rng.standard_normal(5)
    huge = rng.uniform(-1, 1, (4, 5)) * 1.7e308
    for z, target in [(masked, labels), (huge, huge.argmax(axis=1)),
                      (masked, np.eye(6)[labels] * 0.5 + np.eye(6)[(labels + 1) % 6] * 0.5)]:
        weights = np.eye(z.shape[1])[target] if target.ndim == 1 else target
        if target.ndim == 2:
            z = np.where(target > 0, np.nan_to_num(z, neginf=-1.0), z)
        loss, grad = losses.softmax_cross_entropy(z, target)
        assert np.isfinite(loss) and np.isfinite(grad).all()
        assert loss == pytest.approx(_cross_entropy_by_hand(z, weights), rel=1e-12, abs=1e-300)


def test_losses_keep_the_float32_of_the_prediction(rng):
    """A float64 or integer target had made the squared error's L and dL/dp float64 (and a
    float32 model's backward then ran in float64)."""
    z = rng.standard_normal((3, 4)).astype(np.float32)
    loss, grad = losses.softmax_cross_entropy(z, rng.integers(0, 4, 3))
    assert loss.dtype == grad.dtype == np.float32
    for target in (rng.standard_normal((3, 4)), rng.integers(-3, 3, (3, 4))):
        loss, grad = losses.mean_squared_error(z, target)
        assert loss.dtype == grad.dtype == np.float32
        exact = z.astype(np.float64) - target
        assert loss == pytest.approx((exact ** 2).mean(), rel=1e-6)
        np.testing.assert_allclose(grad, exact * (2 / exact.size), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mean_squared_error_matches_torch(reduction, rng, torch):
    shape = tuple(rng.integers(1, 5, 3))
    p, t = rng.standard_normal(shape), rng.standard_normal(shape)
    loss, grad = losses.mean_squared_error(p, t, reduction)
    value, expected = torch_value_and_grad(torch, torch.nn.functional.mse_loss, p,
                                           tensor(torch, t), reduction=reduction)
    assert_close(loss, value)
    assert_close(grad, expected)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_losses_of_numpy_matrices_are_those_of_plain_arrays(rng, torch):
    """Square np.matrix predictions, logits and targets (where * is a matrix product) give
    PyTorch's values and gradients, the gradients as plain arrays."""
    p, t = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    y = rng.dirichlet(np.ones(4), 4)
    for ours, function, target in [
            (losses.mean_squared_error(np.asmatrix(p), np.asmatrix(t)),
             torch.nn.functional.mse_loss, tensor(torch, t)),
            (losses.softmax_cross_entropy(np.asmatrix(p), np.asmatrix(y)),
             torch.nn.functional.cross_entropy, tensor(torch, y))]:
        value, expected = torch_value_and_grad(torch, function, p, target)
        assert type(ours[1]) is np.ndarray
        assert_close(ours[0], value)
        assert_close(ours[1], expected)


@pytest.mark.parametrize("call, name", [
    (lambda a, m, labels: losses.mean_squared_error(m, a), "prediction"),
    (lambda a, m, labels: losses.mean_squared_error(a, m), "target"),
    (lambda a, m, labels: losses.softmax_cross_entropy(m, labels), "logits"),
    (lambda a, m, labels: losses.softmax_cross_entropy(a, m), "target"),
    (lambda a, m, labels: losses.softmax_cross_entropy(a, np.ma.masked_equal(labels, 0)),
     "target"),
    (lambda a, m, labels: losses.softmax(m), "logits"),
], ids=["mse-prediction", "mse-target", "xent-logits", "xent-probabilities", "xent-classes",
        "softmax"])
def test_masked_arrays_are_refused_by_losses(call, name, rng):
    """A loss would ignore (or half-honour) the mask: a TypeError naming the argument, class
    indices included (a masked index escaped the range check)."""
    a = rng.standard_normal((3, 4))
    labels = rng.permutation(4)[:3]
    with pytest.raises(TypeError, match=re.escape(
            f"{name} is a masked array, whose mask convproof would ignore: pass "
            f"{name}.filled(value) or {name}.data")):
        call(a, np.ma.masked_less(a, 0), labels)


def test_softmax_and_log_softmax_match_torch(rng, torch):
    z = rng.standard_normal((3, 5, 2)) * 5
    for axis in (0, 1, -1):
        assert_close(losses.softmax(z, axis), torch.softmax(torch.tensor(z), axis))
        assert_close(losses.log_softmax(z, axis), torch.log_softmax(torch.tensor(z), axis))


@pytest.mark.parametrize("call, message", [
    (lambda z: losses.softmax_cross_entropy(z, np.array([0, 1, 5])),
     re.escape("target holds class 5, outside [0, 4) for logits of shape (3, 4)")),
    (lambda z: losses.softmax_cross_entropy(z, np.array([0, -1, 2])),
     re.escape("target holds class -1, outside [0, 4) for logits of shape (3, 4)")),
    (lambda z: losses.softmax_cross_entropy(z, np.array([0, 1])),
     r"target class indices must have shape \(3,\), got \(2,\)"),
    (lambda z: losses.softmax_cross_entropy(z, np.ones((3, 5))),
     re.escape("target must be class indices (3,) or probabilities of the shape of logits "
               "(3, 4), got (3, 5)")),
    (lambda z: losses.softmax_cross_entropy(z[0], np.array([1])),
     r"logits must have shape \(N, C\), got \(4,\)"),
    (lambda z: losses.softmax_cross_entropy(z, np.array([0, 1, 2]), "max"),
     re.escape("reduction must be one of ('mean', 'sum'), got 'max'")),
    (lambda z: losses.mean_squared_error(z, z[:2]),
     re.escape("target must have the shape of prediction (3, 4), got (2, 4)")),
])
def test_bad_loss_arguments(call, message, rng):
    with pytest.raises(ValueError, match=message):
        call(rng.standard_normal((3, 4)))


@pytest.mark.parametrize("call, message", [
    (lambda z: losses.softmax_cross_entropy(z, [0, 1, 2]),
     re.escape("target must be an array (NumPy or CuPy), got list")),
    (lambda z: losses.softmax_cross_entropy(z, z[:, 0] > 0),
     "target has dtype bool, which is not a real number type"),
    (lambda z: losses.softmax_cross_entropy(z.tolist(), np.array([0, 1, 2])),
     re.escape("logits must be an array (NumPy or CuPy), got list")),
    (lambda z: losses.softmax_cross_entropy(z.astype(complex), np.array([0, 1, 2])),
     "logits has dtype complex128, which is not a real number type"),
    (lambda z: losses.mean_squared_error(z, z.tolist()),
     re.escape("target must be an array (NumPy or CuPy), got list")),
    (lambda z: losses.mean_squared_error(z, z.astype(complex)),
     "target has dtype complex128, which is not a real number type"),
    (lambda z: losses.mean_squared_error(z > 0, z),
     "prediction has dtype bool, which is not a real number type"),
])
def test_bad_loss_arrays_are_named_by_their_parameter(call, message, rng):
    with pytest.raises(TypeError, match=message):
        call(rng.standard_normal((3, 4)))


def test_softmax_takes_arrays_only():
    from convproof.nn import losses
    with pytest.raises(TypeError, match="logits must be an array \\(NumPy or CuPy\\), got list"):
        losses.softmax([1.0, 2.0])
    with pytest.raises(TypeError, match="logits must be an array"):
        losses.log_softmax((1.0, 2.0))


def test_float_labels_are_told_they_are_no_class_indices(rng):
    """The message asked for shape (5,) and reported (5,): the dtype was the fault."""
    with pytest.raises(ValueError, match=r"got \(5,\) of dtype float64 \(class indices are "
                       r"integers\)"):
        nn.losses.softmax_cross_entropy(rng.standard_normal((5, 4)),
                                        np.array([0.0, 1.0, 2.0, 3.0, 0.0]))
