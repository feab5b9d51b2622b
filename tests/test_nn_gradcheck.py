"""gradcheck on every layer (finite differences in float64), and on wrong backward passes,
which it must catch and describe."""

from __future__ import annotations

import numpy as np
import pytest

from convproof import functional, nn
from convproof.nn import gradient_check

LAYERS = {
    "Conv1d": (lambda r: nn.Conv1d(2, 4, 3, 2, "same", 2, 2, padding_mode="reflect", rng=r),
               (2, 2, 9)),
    "Conv2d": (lambda r: nn.Conv2d(3, 2, (2, 3), (2, 1), ((1, 0), (2, 1)),
                                   padding_mode="circular", rng=r), (2, 3, 5, 4)),
    "Conv3d": (lambda r: nn.Conv3d(2, 2, 2, padding=1, padding_mode="replicate", rng=r),
               (1, 2, 3, 3, 2)),
    "ConvTranspose1d": (lambda r: nn.ConvTranspose1d(2, 3, 3, 2, 1, 1, rng=r), (2, 2, 4)),
    "ConvTranspose2d": (lambda r: nn.ConvTranspose2d(4, 2, 3, 1, ((1, 0), (0, 2)), 1, 2, True, 2,
                                                     "reflect", rng=r), (1, 4, 4, 5)),
    "ConvTranspose3d": (lambda r: nn.ConvTranspose3d(2, 2, 2, 2, bias=False, rng=r),
                        (1, 2, 2, 3, 2)),
    "MaxPool2d": (lambda r: nn.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 2, 6, 5)),
    "AvgPool2d": (lambda r: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 2, 6, 5)),
    "AdaptiveAvgPool2d": (lambda r: nn.AdaptiveAvgPool2d((3, 2)), (2, 2, 5, 7)),
    "AdaptiveMaxPool2d": (lambda r: nn.AdaptiveMaxPool2d(3), (2, 2, 5, 7)),
    "GlobalAvgPool2d": (lambda r: nn.GlobalAvgPool2d(), (2, 3, 4, 3)),
    "BatchNorm1d": (lambda r: nn.BatchNorm1d(3), (5, 3)),
    "BatchNorm2d": (lambda r: nn.BatchNorm2d(3), (2, 3, 3, 4)),
    "BatchNorm2d-eval": (lambda r: nn.BatchNorm2d(3).eval(), (2, 3, 3, 4)),
    "Dropout": (lambda r: nn.Dropout(0.4, rng=r), (4, 6)),
    "ReLU": (lambda r: nn.ReLU(), (3, 7)),
    "Tanh": (lambda r: nn.Tanh(), (3, 7)),
    "Sigmoid": (lambda r: nn.Sigmoid(), (3, 7)),
    "Flatten": (lambda r: nn.Flatten(), (2, 3, 2)),
    "Linear": (lambda r: nn.Linear(5, 3, rng=r), (2, 4, 5)),
    "Sequential": (lambda r: nn.Sequential(nn.Conv2d(1, 3, 3, rng=r), nn.BatchNorm2d(3),
                                           nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
                                           nn.Linear(12, 2, rng=r)), (3, 1, 6, 6)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_passes_gradcheck(name, rng):
    build, shape = LAYERS[name]
    layer = build(rng)
    report = nn.gradcheck(layer, rng.standard_normal(shape), seed=int(rng.integers(2**32)))
    assert report.ok
    expected = ["input", *(name for name, _ in layer.named_parameters())]
    assert [c.name for c in report.comparisons] == expected
    assert all(c.entries.size == int(np.prod(c.shape)) for c in report.comparisons)


def test_gradcheck_leaves_the_layer_untouched(rng):
    layer = nn.BatchNorm2d(2)
    layer.weight.data = rng.uniform(1, 2, 2).astype(np.float32)
    state = {name: np.copy(value) for name, value in layer.state_dict().items()}
    nn.gradcheck(layer, rng.standard_normal((3, 2, 2, 2)))
    for name, value in layer.state_dict().items():
        assert np.array_equal(value, state[name])
        assert np.asarray(value).dtype == state[name].dtype
    assert layer.weight.grad is None


class ForgetfulBatchNorm(nn.BatchNorm2d):
    """A classic mistake: the backward pass without the mean terms, g gamma r."""

    def backward(self, grad_output):
        super().backward(grad_output)
        saved = self.recall(grad_output)
        return grad_output * self.weight.data.reshape(1, -1, 1, 1) * saved["inv_std"]


class DoubleBiasLinear(nn.Linear):
    """A wrong parameter gradient: the bias gradient counted twice."""

    def backward(self, grad_output):
        grad = super().backward(grad_output)
        self.bias.accumulate(grad_output.sum(axis=0))
        return grad


def test_gradcheck_catches_a_wrong_input_gradient(rng):
    with pytest.raises(nn.GradcheckError) as caught:
        nn.gradcheck(ForgetfulBatchNorm(3), rng.standard_normal((4, 3, 2, 2)))
    text = str(caught.value)
    assert "FAILED" in text
    assert "input (4, 3, 2, 2): MISMATCH, worst entry [" in text
    assert "weight (3,): ok" in text and "bias (3,): ok" in text


def test_gradcheck_catches_a_wrong_parameter_gradient(rng):
    report = nn.gradcheck(DoubleBiasLinear(4, 2, rng=rng), rng.standard_normal((3, 4)),
                          raise_on_failure=False)
    assert not report.ok
    status = {c.name: c.ok for c in report.comparisons}
    assert status == {"input": True, "weight": True, "bias": False}
    assert "bias (2,): MISMATCH" in str(report)


def test_gradcheck_on_functions(rng):
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    options = dict(stride=2, padding=1)

    def conv(x, w):
        return functional.conv2d(x, w, **options)

    def backward(g, x, w):
        return (functional.conv2d_input(x.shape, w, g, **options),
                functional.conv2d_weight(x, w.shape, g, **options))

    report = nn.gradcheck(conv, (x, w), backward=backward, max_entries=30)
    assert [c.name for c in report.comparisons] == ["input[0]", "input[1]"]
    assert all(c.entries.size == 30 for c in report.comparisons)
    flipped = lambda g, x, w: (backward(g, x, w)[0], backward(g, x, w)[1][..., ::-1, ::-1])  # noqa: E731
    with pytest.raises(nn.GradcheckError, match=r"input\[1\] \(4, 3, 3, 3\): MISMATCH"):
        nn.gradcheck(conv, (x, w), backward=flipped, max_entries=30)


def test_at_a_kink_the_slope_of_the_entrys_side_counts(rng):
    """relu(x) at x = eps/4 from its kink: the central difference is (5/4 eps)/(2 eps) = 5/8,
    the gradient 1, the slope on the entry's side (L(+eps) - L)/eps = 1.  A right gradient
    passes and the report says so; a wrong one (the kink's other side, or 0.3) still fails."""
    x = rng.standard_normal(6)
    x[2] = 0.25e-6  # within eps = 1e-6 of relu's kink at 0

    def relu(x):
        return np.maximum(x, 0)

    report = nn.gradcheck(relu, x, backward=lambda g, x: g * (x > 0))
    assert report.ok
    assert "6 entries checked, 1 of them at a kink (matched a one-sided difference)" in str(report)
    for wrong in (lambda g, x: g * (x >= 0.5e-6), lambda g, x: g * np.where(x > 0, 0.3, 0)):
        with pytest.raises(nn.GradcheckError, match=r"input \(6,\): MISMATCH"):
            nn.gradcheck(relu, x, backward=wrong)
    smooth = rng.standard_normal(6)
    with pytest.raises(nn.GradcheckError):  # no kink: a wrong slope is never excused
        nn.gradcheck(lambda x: x**2, smooth, backward=lambda g, x: g * 2.01 * x)


def test_gradcheck_on_the_loss(rng):
    z, labels = rng.standard_normal((4, 5)), rng.integers(0, 5, 4)
    report = nn.gradcheck(lambda z: nn.losses.softmax_cross_entropy(z, labels)[0], z,
                          backward=lambda g, z: g * nn.losses.softmax_cross_entropy(z, labels)[1])
    assert report.ok


def test_gradcheck_arguments(rng):
    with pytest.raises(TypeError, match="checking a function needs backward"):
        nn.gradcheck(np.sin, rng.standard_normal(3))
    with pytest.raises(ValueError, match="a layer takes one input array, got 2"):
        nn.gradcheck(nn.ReLU(), (rng.standard_normal(3), rng.standard_normal(3)))
    with pytest.raises(TypeError, match="layer_or_fn must be a Module or a callable, got int"):
        nn.gradcheck(3, rng.standard_normal(3))
    x = rng.standard_normal(3)
    for option, value, message in [
            ("eps", 0, r"eps must be a number in \(0, inf\), got 0"),
            ("atol", -1, r"atol must be a number in \[0, inf\), got -1"),
            ("rtol", -1e-3, r"rtol must be a number in \[0, inf\), got -0.001"),
            ("atol", "a", r"atol must be a number in \[0, inf\), got 'a'"),
            ("max_entries", 0, "max_entries must be a positive integer, got 0"),
            ("seed", -1, "seed must be a non-negative integer, got -1")]:
        with pytest.raises(ValueError, match=message):
            nn.gradcheck(nn.ReLU(), x, **{option: value})
    for option, value, message in [
            ("max_entries", 2.5, "max_entries must be a positive integer, got 2.5"),
            ("seed", None, "seed must be a non-negative integer, got None"),
            ("seed", True, "seed must be a non-negative integer, got True")]:
        with pytest.raises(TypeError, match=message):
            nn.gradcheck(nn.ReLU(), x, **{option: value})
    with pytest.raises(ValueError, match="atol and rtol are both 0"):
        nn.gradcheck(nn.ReLU(), x, atol=0, rtol=0)
    with pytest.raises(TypeError, match="raise_on_failure must be True or False, got None"):
        nn.gradcheck(nn.ReLU(), x, raise_on_failure=None)
    with pytest.raises(ValueError, match="inputs is empty"):
        nn.gradcheck(np.sin, [], backward=lambda g: ())
    with pytest.raises(ValueError, match="every input and parameter is empty"):
        # compared nothing, so a wrong backward (d(2a)/da is 2, not 0) had 'passed'
        nn.gradcheck(lambda a: 2 * a, [np.ones((0, 3))], backward=lambda g, a: 0 * a)
    with pytest.raises(TypeError, match="backward is for a function"):
        nn.gradcheck(nn.ReLU(), x, backward=lambda g, a: g)
    with pytest.raises(TypeError, match="layer_or_fn returned float, not an array"):
        nn.gradcheck(lambda a: float((a * a).sum()), x, backward=lambda g, a: 2 * g * a)
    report = nn.gradcheck(lambda a: (a * a).sum(), x, backward=lambda g, a: 2 * g * a)
    assert report.ok  # a NumPy scalar is a 0-d array


@pytest.mark.parametrize("wrong", [lambda g, a: np.tile(2 * g, 3),
                                   lambda g, a: (2 * g).reshape(-1)],
                         ids=["too-many-entries", "flattened"])
def test_a_gradient_of_another_shape_is_refused(rng, wrong):
    """A backward whose first entries are right but whose shape is not the input's."""
    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"the gradient of input has shape \((2, 9|6,)\), "
                                         r"but input has shape \(2, 3\)"):
        nn.gradcheck(lambda a: 2 * a, x, backward=wrong)
    with pytest.raises(TypeError, match="progress must be a callable taking a line, or None, "
                                        "got str"):
        nn.gradcheck(nn.ReLU(), rng.standard_normal(3), progress="stderr")


def test_a_quick_check_is_silent(rng, capsys):
    nn.gradcheck(nn.Linear(3, 2, rng=rng), rng.standard_normal((2, 3)))
    assert capsys.readouterr().err == ""


def test_a_long_check_reports_its_progress(rng, monkeypatch, capsys):
    """Past the quiet time, a line every interval naming the array and the entries done (both
    times set to zero here, so every entry gets a line)."""
    monkeypatch.setattr(gradient_check._Progress, "QUIET", 0.0)
    monkeypatch.setattr(gradient_check._Progress, "INTERVAL", 0.0)
    layer, x = nn.Linear(3, 2, rng=rng), rng.standard_normal((2, 3))
    lines: list[str] = []
    nn.gradcheck(layer, x, max_entries=4, progress=lines.append)
    assert [line.split(":")[0] for line in lines] == (
        ["gradcheck [1/3] input (2, 3)"] * 4 + ["gradcheck [2/3] weight (2, 3)"] * 4
        + ["gradcheck [3/3] bias (2,)"] * 2)
    assert lines[0] == "gradcheck [1/3] input (2, 3): 0 of 4 entries, 0 s"
    assert lines[3].startswith("gradcheck [1/3] input (2, 3): 3 of 4 entries, 0 s, about 0 s")
    assert lines[-1].startswith("gradcheck [3/3] bias (2,): 1 of 2 entries")
    nn.gradcheck(layer, x, progress=None)
    nn.gradcheck(layer, x)  # stderr by default
    assert capsys.readouterr().err.count("gradcheck [") == 6 + 6 + 2


def test_the_projection_is_no_input_a_test_draws(rng):
    """R came from default_rng(seed) itself: for x from default_rng(0) and y = x Wᵀ of x's
    shape, R = x, and a transposed weight gradient (xᵀx symmetric) passed."""
    class TransposedGradient(nn.Module):
        def __init__(self) -> None:
            self.weight = nn.Parameter(rng.standard_normal((3, 3)))

        def forward(self, x):
            self.remember(x, x=x)
            return x @ self.weight.data.T

        def backward(self, g):
            x = self.recall(g)["x"]
            self.weight.accumulate((g.T @ x).T)  # should be g.T @ x
            return g @ self.weight.data
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert not nn.gradcheck(TransposedGradient(), x, raise_on_failure=False, progress=None).ok
