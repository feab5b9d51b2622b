"""The user's arrays: NumPy inputs converted to the user's array type, outputs converted back.

Inputs are NumPy arrays unless asked otherwise: ``backend="torch"`` passes CPU tensors
(``torch.from_numpy``), ``backend="cupy"`` device arrays (``cupy.asarray``), a callable converts
each array itself.  Outputs may be NumPy or CuPy arrays, PyTorch tensors, or anything with
``__dlpack__`` or ``__array__``.  Nothing but NumPy is imported unless a backend asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .outcome import EquivalenceError

BACKENDS = ("numpy", "torch", "cupy")


def converter(backend: str | Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], Any]:
    """The function that turns a NumPy input into the user's array type (always a fresh copy)."""
    if callable(backend):
        return lambda array: backend(np.array(array))
    if backend == "numpy":
        return np.array
    if backend == "torch":
        import torch
        return lambda array: torch.from_numpy(np.array(array))
    if backend == "cupy":
        import cupy
        return cupy.asarray
    raise ValueError(f"backend must be one of {BACKENDS} or a callable, got {backend!r}")


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy view or copy of an array of any library, on the host.

    PyTorch tensors leave the autograd graph (``detach``) and the device (``cpu``); CuPy arrays
    are copied with ``get``; the rest goes through DLPack, then ``__array__``.
    """
    if isinstance(value, np.ndarray):
        return value
    if callable(getattr(value, "detach", None)):
        value = value.detach()
    if type(value).__module__.startswith("cupy"):
        return value.get()
    if callable(getattr(value, "cpu", None)):
        value = value.cpu()
    if hasattr(value, "__dlpack__"):
        try:
            return np.from_dlpack(value)
        except (BufferError, RuntimeError, TypeError, ValueError):
            pass  # a dtype or device DLPack cannot hand over: fall back on __array__
    return np.asarray(value)


def describe_shapes(names: Sequence[str], arrays: Sequence[np.ndarray | None]) -> str:
    """'x (2, 3, 5, 5), w (4, 3, 3, 3), b None'."""
    return ", ".join(f"{name} {None if a is None else tuple(a.shape)}"
                     for name, a in zip(names, arrays))


class Caller:
    """Calls the user's function on NumPy arrays; returns its outputs as float64 NumPy arrays.

    An exception, a missing output, a scalar or a non-numeric output becomes an
    EquivalenceError that names the operation and the shapes it was called with.
    """

    def __init__(self, fn: Callable[..., Any], operation: str, arguments: Sequence[str],
                 outputs: Sequence[str], backend: str | Callable[[np.ndarray], Any]) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn, self.operation = fn, operation
        self.arguments, self.outputs = tuple(arguments), tuple(outputs)
        self.convert = converter(backend)
        self.dtypes: set[np.dtype] = set()

    def __call__(self, *args: np.ndarray | None) -> tuple[np.ndarray, ...]:
        __tracebackhide__ = True
        called = describe_shapes(self.arguments, args)
        try:
            result = self.fn(*(None if a is None else self.convert(a) for a in args))
        except Exception as exc:  # the user's code failed: say where, keep the cause
            raise EquivalenceError(f"{self.operation}: your function raised "
                                   f"{type(exc).__name__}: {exc}\n  called with {called}") from exc
        if len(self.outputs) == 1:
            result = (result,)
        elif not isinstance(result, (tuple, list)) or len(result) != len(self.outputs):
            raise EquivalenceError(f"{self.operation}: your function must return "
                                   f"({', '.join(self.outputs)}), got {type(result).__name__}")
        return tuple(self._output(name, value, called) for name, value in zip(self.outputs, result))

    def _output(self, name: str, value: Any, called: str) -> np.ndarray:
        try:
            array = None if value is None else to_numpy(value)
        except Exception as exc:  # an array type (or dtype) NumPy cannot take over
            raise EquivalenceError(f"{self.operation}: {name} of type {type(value).__name__} "
                                   f"cannot be read as a NumPy array ({exc})") from exc
        if array is None or array.dtype.kind not in "iuf":
            kind = type(value).__name__ if array is None else f"an array of dtype {array.dtype}"
            raise EquivalenceError(f"{self.operation}: {name} must be an array of real numbers, "
                                   f"your function returned {kind}\n  called with {called}")
        if array.ndim == 0:
            raise EquivalenceError(f"{self.operation}: {name} must be an array, your function "
                                   f"returned the scalar {array.item()!r}\n  called with {called}")
        self.dtypes.add(array.dtype)
        return array.astype(np.float64)
