"""The user's arrays: NumPy inputs converted to the user's array type, outputs converted back.

Inputs are fresh NumPy arrays unless asked otherwise: ``backend="torch"`` passes CPU tensors
(``torch.from_numpy``), ``backend="cupy"`` device arrays (``cupy.asarray``), a callable converts
each array itself.  NumPy arrays and tensors come in several memory layouts (:func:`arrange`).
Outputs may be NumPy or CuPy arrays, PyTorch tensors, or anything with
``__dlpack__`` or ``__array__``.  Nothing but NumPy is imported unless a backend asks for it.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..arrays import cupy_module
from .compare import coarser, tolerance
from .outcome import EquivalenceError

BACKENDS = ("numpy", "torch", "cupy")
LAYOUTS = {"contiguous": "", "channels-last": " (each a channels-last view)",
           "strided": " (each a view of a larger array: every other entry on the last axis, "
                      "a border cropped off the spatial axes)"}
MOST_ENTRIES = 2**27
"""An output of more entries is refused before it is copied: the checks' arrays hold at most
some thousands, and a broadcast view of 2^27 would take 1 GiB as float64."""


def _same(array: np.ndarray) -> np.ndarray:
    """NumPy's converter: the array itself."""
    return array


def _shortened(exc: BaseException, limit: int = 600) -> str:
    """An exception's message on at most ``limit`` characters (a TorchScript error quotes the
    whole input array: 7.5 KB)."""
    text = str(exc)
    return text if len(text) <= limit else f"{text[:limit]} … ({len(text)} characters)"


def converter(backend: str | Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], Any]:
    """The function that turns a fresh NumPy input into the user's array type."""
    if callable(backend):
        return backend
    if backend == "numpy":
        return _same
    if backend == "torch":
        try:
            import torch
        except ImportError as exc:
            raise ImportError("backend='torch' needs PyTorch: pip install torch") from exc
        return torch.from_numpy
    if backend == "cupy":
        return cupy_module("backend='cupy'").asarray
    raise ValueError(f"backend must be one of {BACKENDS} or a callable, got {backend!r}")


def arrange(array: np.ndarray, layout: str) -> np.ndarray:
    """A fresh copy of ``array`` in memory laid out as ``layout`` says: C-contiguous;
    channels-last (axis 1 stored last, for arrays of 3 or more dims); or strided, a view of a
    larger array, every other entry along the last axis and cropped by one entry at both ends
    of the spatial axes (2 and on), so that a row's stride is not the width times a column's
    (the entries around are NaN)."""
    if layout == "channels-last" and array.ndim >= 3:
        return np.moveaxis(np.moveaxis(array, 1, -1).copy(), -1, 1)
    if layout == "strided":
        border = [0 if axis < 2 else 1 for axis in range(array.ndim)]
        border[-1] = 1  # the last axis of a vector too
        shape = [n + 2 * b for n, b in zip(array.shape, border)]
        shape[-1] *= 2
        larger = np.full(shape, np.nan, dtype=array.dtype)
        view = larger[(*(slice(b, n + b) for n, b in zip(array.shape[:-1], border)),
                       slice(2, 2 + 2 * array.shape[-1], 2))]
        view[...] = array
        return view
    return np.array(array)


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


def _refill(host: np.ndarray, passed: Any, values: np.ndarray) -> None:
    """Write ``values`` into the array passed to the user's function; a PyTorch tensor through
    PyTorch, so that its version counter moves as under an optimiser's in-place step (a cache
    keyed on (id, _version) is right to notice it)."""
    if type(passed).__module__.startswith("torch"):
        torch = sys.modules["torch"]
        with torch.no_grad():
            passed.copy_(torch.from_numpy(np.ascontiguousarray(values)))
    else:
        host[...] = values


class Caller:
    """Calls the user's function on NumPy arrays; returns its outputs as float64 NumPy arrays.

    An exception, a missing output, a scalar, a non-numeric output or one of a floating dtype
    coarser than the check's ``dtype`` becomes an EquivalenceError that names the operation and
    the shapes it was called with; so does an input that the function changed, and an output
    that its next call overwrote (a reused output buffer; NumPy and PyTorch CPU outputs, which
    are read in place).  Every call gets fresh arrays (NumPy and PyTorch inputs in the
    ``layout`` asked for, other backends C-contiguous); :meth:`again` calls it once more on the
    same arrays refilled in place.
    """

    def __init__(self, fn: Callable[..., Any], operation: str, arguments: Sequence[str],
                 outputs: Sequence[str], backend: str | Callable[[np.ndarray], Any],
                 dtype: np.dtype) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn, self.operation, self.dtype = fn, operation, np.dtype(dtype)
        self.arguments, self.outputs = tuple(arguments), tuple(outputs)
        self.convert = converter(backend)
        self.layouts = backend in ("numpy", "torch")
        self._last: tuple[list[np.ndarray | None], list[Any], str] | None = None
        self._returned: list[tuple[str, np.ndarray, np.ndarray]] = []  # the last call's outputs

    def __call__(self, *args: np.ndarray | None, layout: str = "contiguous"
                 ) -> tuple[np.ndarray, ...]:
        __tracebackhide__ = True
        layout = layout if self.layouts else "contiguous"
        hosts = [None if a is None else arrange(a, layout) for a in args]
        try:
            passed = [None if h is None else self.convert(h) for h in hosts]
        except Exception as exc:  # the caller's converter: an option, not the function checked
            raise ValueError(f"backend: your converter raised {type(exc).__name__}: "
                             f"{_shortened(exc)}") from exc
        self._last = hosts, passed, layout
        outputs = self._run(args, passed, layout, self._returned)
        self._returned = [(name, output, output.copy())
                          for name, output in zip(self.outputs, outputs)]
        return tuple(output.astype(np.float64) for output in outputs)

    def again(self, *args: np.ndarray | None) -> tuple[np.ndarray, ...] | None:
        """The outputs on ``args`` written into the arrays of the previous call, passed again
        (the same objects, the same memory); None when the user's arrays are copies of ours
        (a converter that copies) and cannot be refilled."""
        __tracebackhide__ = True
        hosts, passed, layout = self._last
        views = [None if h is None else _host_view(p) for h, p in zip(hosts, passed)]
        if any(h is not None and (v is None or not np.may_share_memory(h, v))
               for h, v in zip(hosts, views)):
            return None
        for host, a, p in zip(hosts, args, passed):
            if host is not None:
                _refill(host, p, a)
        # a reused output buffer shows here, at the same shapes: the new outputs overwrite the
        # last ones, which are no views of the arrays the caller refilled
        last, self._returned = self._returned, []
        outputs = self._run(args, passed, layout, last, [h for h in hosts if h is not None])
        return tuple(output.astype(np.float64) for output in outputs)

    def _run(self, args: Sequence[np.ndarray | None], passed: Sequence[Any], layout: str,
             earlier: Iterable[tuple[str, np.ndarray, np.ndarray]],
             exempt: Sequence[np.ndarray] = ()) -> list[np.ndarray]:
        """Each output as returned (on the host); the ``earlier`` outputs must be unchanged
        (:meth:`_overwritten`)."""
        __tracebackhide__ = True
        called = describe_shapes(self.arguments, args) + LAYOUTS[layout]
        try:
            result = self.fn(*passed)
        except (Exception, SystemExit) as exc:  # the user's code failed, sys.exit too
            hint = ("\n  (a function of PyTorch tensors needs backend='torch': --backend torch "
                    "on the command line)" if self.convert is _same and "Tensor" in str(exc)
                    else "")
            raise EquivalenceError(f"{self.operation}: your function raised "
                                   f"{type(exc).__name__}: {_shortened(exc)}\n  called with "
                                   f"{called}{hint}") from exc
        for name, a, p in zip(self.arguments, args, passed):
            changed = None if a is None else _changed(a, p)
            if changed:
                raise EquivalenceError(f"{self.operation}: your function mutates its input "
                                       f"{name} ({changed}): a caller's arrays must be left as "
                                       f"they are; copy {name} before writing into it\n  called "
                                       f"with {called}")
        if len(self.outputs) == 1:
            if isinstance(result, list) and all(isinstance(v, (list, numbers.Number))
                                                for v in result):
                raise EquivalenceError(
                    f"{self.operation}: your function returned a nested list (.tolist()?) where "
                    f"{self.outputs[0]} was asked: return an array\n  called with {called}")
            if isinstance(result, (tuple, list)):
                raise EquivalenceError(
                    f"{self.operation}: your function returned a {type(result).__name__} of "
                    f"{len(result)} ({', '.join(type(v).__name__ for v in result)}) where "
                    f"{self.outputs[0]} alone was asked: return {self.outputs[0]} as one array, "
                    f"not ({self.outputs[0]}, indices) or ({self.outputs[0]}, cache)\n  called "
                    f"with {called}")
            result = (result,)
        elif not isinstance(result, (tuple, list)) or len(result) != len(self.outputs):
            got = (f"a {type(result).__name__} of {len(result)}"
                   if isinstance(result, (tuple, list)) else type(result).__name__)
            raise EquivalenceError(f"{self.operation}: your function must return "
                                   f"({', '.join(self.outputs)}), got {got}\n  called with "
                                   f"{called}")
        outputs = [self._output(name, value, called) for name, value in zip(self.outputs, result)]
        self._overwritten(earlier, called, exempt)
        return outputs

    def _overwritten(self, returned: Iterable[tuple[str, np.ndarray, np.ndarray]], called: str,
                     exempt: Sequence[np.ndarray]) -> None:
        """Refuse an earlier output (as returned, and its copy) that has changed since, unless
        it is a view of an ``exempt`` array."""
        __tracebackhide__ = True
        for name, output, copy in returned:
            if np.array_equal(output, copy, equal_nan=True) or any(
                    np.may_share_memory(output, array) for array in exempt):
                continue
            raise EquivalenceError(
                f"{self.operation}: your function overwrote the {name} it returned on an "
                f"earlier call: it reuses an output buffer, so a caller's {name}1 = f(x1) "
                f"changes when it calls f(x2); return a new array (a PyTorch .grad that "
                f"backward() accumulates into is one: use torch.autograd.grad, or set .grad "
                f"to None first)\n  called with {called}")

    def _output(self, name: str, value: Any, called: str) -> np.ndarray:
        if str(getattr(value, "dtype", "")).endswith("bfloat16"):  # NumPy has no such dtype
            raise self._too_coarse(name, "bfloat16")
        try:
            array = None if value is None else to_numpy(value)
        except Exception as exc:  # an array type (or dtype) NumPy cannot take over
            raise EquivalenceError(f"{self.operation}: {name} of type {type(value).__name__} "
                                   f"cannot be read as a NumPy array ({exc})") from exc
        if array is None or array.dtype.kind != "f":
            kind = (type(value).__name__ if array is None or not hasattr(value, "dtype")
                    and not isinstance(value, (list, tuple, numbers.Number))
                    else f"an array of dtype {array.dtype}")
            raise EquivalenceError(f"{self.operation}: {name} must be an array of floating-point "
                                   f"numbers, your function returned {kind}\n  called with "
                                   f"{called}")
        if array.ndim == 0:
            raise EquivalenceError(f"{self.operation}: {name} must be an array, your function "
                                   f"returned the scalar {array.item()!r}\n  called with {called}")
        if array.size > MOST_ENTRIES:  # a broadcast view costs the user nothing, a copy 24 GB
            raise EquivalenceError(f"{self.operation}: {name} has shape {array.shape}, "
                                   f"{array.size} entries, far more than the outputs of these "
                                   f"small checks\n  called with {called}")
        if coarser(array.dtype, self.dtype):
            raise self._too_coarse(name, array.dtype.name)
        return array

    def _too_coarse(self, name: str, got: str) -> EquivalenceError:
        """An output less precise than the check's dtype (float32 in a float64 check, or
        float16 and bfloat16, which no check compares at)."""
        returned = (f"{self.operation}: your function returned {name} as {got} although "
                    f"dtype={self.dtype} was asked: ")
        if got in ("float32", "float64"):
            return EquivalenceError(
                f"{returned}the check compares at {self.dtype} precision (tolerance "
                f"{tolerance(self.dtype):.0e}); return {self.dtype} outputs, or check it with "
                f"dtype=np.{got} if that is meant")
        return EquivalenceError(f"{returned}the checks compare at float32 precision at least; "
                                f"return {self.dtype} outputs")


def _host_view(value: Any) -> np.ndarray | None:
    """The NumPy view of an array passed to the user's function, None if it has none."""
    try:
        return to_numpy(value)
    except Exception:  # an array type NumPy cannot read: nothing to compare
        return None


def _changed(before: np.ndarray, passed: Any) -> str | None:
    """How the array passed to the user's function differs from ``before``, if it does."""
    now = _host_view(passed)
    if now is None:
        return None
    if now.shape != before.shape:
        return f"its shape is now {tuple(now.shape)}, was {tuple(before.shape)}"
    differ = np.count_nonzero(~(now == before))
    if differ:  # as the function got it: a converter may have rounded it (to float32, say)
        differ = np.count_nonzero(~(now == before.astype(now.dtype)))
    return f"{differ} of {before.size} entries changed" if differ else None
