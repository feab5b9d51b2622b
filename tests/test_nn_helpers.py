"""Shared helpers of the layer tests (this file holds no tests of its own).

Comparisons use the relative error max |actual - expected| / max |expected| (1e-10 in float64).
PyTorch modules get our parameters through ``load_state_dict`` (the names are PyTorch's) and
run in float64 on the CPU.
"""

from __future__ import annotations

import numpy as np

RTOL = 1e-10


def assert_close(actual, expected, rtol: float = RTOL) -> None:
    """Same shape, and max |actual - expected| <= rtol * max |expected| (NumPy or torch)."""
    actual = np.asarray(getattr(actual, "detach", lambda: actual)(), dtype=np.float64)
    expected = np.asarray(getattr(expected, "detach", lambda: expected)(), dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = np.abs(actual - expected).max(initial=0.0)
    assert error <= rtol * np.abs(expected).max(initial=0.0), f"max abs error {error}"


def tensor(torch, array, grad: bool = False):
    """A float64 torch copy of a NumPy array."""
    return torch.tensor(np.array(array, dtype=np.float64), requires_grad=grad)


def copy_into_torch(torch, ours, theirs) -> None:
    """Load our parameters and buffers (same names) into the PyTorch module, in float64."""
    theirs.double()
    state = {name: torch.tensor(np.asarray(value)) for name, value in ours.state_dict().items()}
    theirs.load_state_dict(state)


def compare_with_torch(torch, ours, forward, parameters: dict, x: np.ndarray,
                       rng: np.random.Generator) -> None:
    """Output, input gradient and parameter gradients of ``ours`` against PyTorch's.

    ``forward`` is the PyTorch computation (a module or a function of a tensor), ``parameters``
    its tensors by our parameter names; ``ours`` computes in float64; the output gradient is
    drawn here.  Gradients are cleared on both sides first.
    """
    x_t = tensor(torch, x, grad=True)
    y_t = forward(x_t)
    y = ours.forward(x)
    assert_close(y, y_t)
    g = rng.standard_normal(y.shape)
    ours.zero_grad()
    for value in parameters.values():
        value.grad = None
    grad_x = ours.backward(g)
    y_t.backward(tensor(torch, g))
    assert_close(grad_x, x_t.grad)
    assert sorted(name for name, _ in ours.named_parameters()) == sorted(parameters)
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad, parameters[name].grad)


def compare_module(torch, ours, theirs, x: np.ndarray, rng: np.random.Generator) -> None:
    """:func:`compare_with_torch` for a PyTorch module that has our parameters' names."""
    compare_with_torch(torch, ours, theirs, dict(theirs.named_parameters()), x, rng)


def same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """"same": output ceil(n/s), total padding max(0, (ceil(n/s) - 1)s + d(k-1) + 1 - n),
    the odd pixel at the end."""
    total = max(0, (-(-n // s) - 1) * s + d * (k - 1) + 1 - n)
    return total // 2, total - total // 2
