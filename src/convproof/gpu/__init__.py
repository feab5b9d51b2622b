"""The GPU backend of :mod:`convproof.functional`: generated CUDA kernels run through CuPy.

The same functions, with the same signatures, as :mod:`convproof.cpu` (see its docstring for
their formulas); :mod:`convproof.functional` calls them for CuPy arrays.  Importing this
package needs no CuPy and no GPU; calling one of its functions without CuPy raises a
RuntimeError that says so.  The functions run on the current CUDA device; each kernel is
compiled once per device (:mod:`.module`).  :func:`backend` gives the :class:`Backend` behind
them, with the general operations (padding modes, bias and activation epilogues) too.
Importing the package registers the GPU benchmark suite (:mod:`.bench`) with
``convproof bench --gpu``.  Within ``with allow_tf32():`` (``allow_bf16()``, ``allow_fp16()``)
the float32 convolutions and their gradients that run as GEMMs use tensor cores in TF32
(bfloat16, float16); off by default.

    pad, pad_adjoint, correlate, correlate_input_grad, correlate_weight_grad,
    max_pool, max_pool_backward, avg_pool, avg_pool_backward, adaptive_avg_pool,
    adaptive_avg_pool_backward, adaptive_max_pool, adaptive_max_pool_backward
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from ..arrays import FLOAT_DTYPES
from . import bench as _bench  # noqa: F401  (registers the suite of ``convproof bench --gpu``)
from .backend import Backend

_BACKEND: list[Backend] = []
_PRECISIONS: list[str | None] = []
"""The tensor-core precisions of the allow_* blocks entered and not yet left, innermost last."""


def backend() -> Backend:
    """The backend of CuPy arrays on the current CUDA device (CuPy needed)."""
    if not _BACKEND:
        from .module import CupyDevice
        made = Backend(CupyDevice())
        made.tensor_cores = _PRECISIONS[-1] if _PRECISIONS else None
        _BACKEND.append(made)
    return _BACKEND[0]


@contextlib.contextmanager
def _tensor_cores(precision: str | None) -> Iterator[None]:
    """Within the block, the backend's float32 correlations run in ``precision``, also where
    the backend is made inside the block; NumPy arrays and a machine without CuPy are not
    affected."""
    previous = _BACKEND[0].tensor_cores if _BACKEND else None
    _PRECISIONS.append(precision)
    if _BACKEND:
        _BACKEND[0].tensor_cores = precision
    try:
        yield
    finally:
        _PRECISIONS.pop()
        if _BACKEND:
            _BACKEND[0].tensor_cores = previous


def allow_tf32(allowed: bool = True) -> contextlib.AbstractContextManager[None]:
    """Within the block, the float32 convolutions on the current device and their gradients,
    where they run as implicit GEMMs of groups with at least 16 output channels, run on
    tensor cores in TF32: conv* and convolve* (and the layers that call them), conv*_input
    and conv_transpose* (a GEMM per phase of the stride), conv*_weight (where the columns
    C_in/G x taps are 16 or more too).  The operands are rounded to a 10-bit mantissa
    (cvt.rna), the products exact, the sums in float32: the exact result of the rounded
    inputs up to float32 sums (about 1e-3 from float32).  Narrower groups (depthwise), and
    Backend.conv_data_grad's gather (another padding mode folded in), stay float32."""
    return _tensor_cores("tf32" if allowed else None)


def allow_bf16(allowed: bool = True) -> contextlib.AbstractContextManager[None]:
    """As :func:`allow_tf32`, in bfloat16: x and w rounded to a 7-bit mantissa (nearest, ties
    to even), products exact, sums in float32 (about 1e-2 from float32)."""
    return _tensor_cores("bf16" if allowed else None)


def allow_fp16(allowed: bool = True) -> contextlib.AbstractContextManager[None]:
    """As :func:`allow_tf32`, in float16: x and w rounded to a 10-bit mantissa (nearest, ties
    to even), products exact, sums in float32 (about 1e-3 from float32, as TF32).  Float16's
    range ends at 65504: larger inputs become infinite, those below 6e-8 zero; scale them
    first."""
    return _tensor_cores("fp16" if allowed else None)


ALLOW = {"tf32": allow_tf32, "bf16": allow_bf16, "fp16": allow_fp16}
"""The switch of each tensor-core precision."""


def _on_gpu(name: str) -> Callable[..., Any]:
    """The module-level function ``name``: Backend.<name> of :func:`backend`."""
    method = getattr(Backend, name)

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(backend(), name)(*args, **kwargs)

    parameters = list(inspect.signature(method).parameters.values())[1:]
    call.__signature__ = inspect.signature(method).replace(parameters=parameters)
    return call


pad = _on_gpu("pad")
pad_adjoint = _on_gpu("pad_adjoint")
correlate = _on_gpu("correlate")
correlate_input_grad = _on_gpu("correlate_input_grad")
correlate_weight_grad = _on_gpu("correlate_weight_grad")
max_pool = _on_gpu("max_pool")
max_pool_backward = _on_gpu("max_pool_backward")
avg_pool = _on_gpu("avg_pool")
avg_pool_backward = _on_gpu("avg_pool_backward")
adaptive_avg_pool = _on_gpu("adaptive_avg_pool")
adaptive_avg_pool_backward = _on_gpu("adaptive_avg_pool_backward")
adaptive_max_pool = _on_gpu("adaptive_max_pool")
adaptive_max_pool_backward = _on_gpu("adaptive_max_pool_backward")

__all__ = [
    "ALLOW", "FLOAT_DTYPES", "Backend", "adaptive_avg_pool", "adaptive_avg_pool_backward",
    "adaptive_max_pool", "adaptive_max_pool_backward", "allow_bf16", "allow_fp16",
    "allow_tf32", "avg_pool", "avg_pool_backward", "backend", "correlate",
    "correlate_input_grad", "correlate_weight_grad", "max_pool", "max_pool_backward", "pad",
    "pad_adjoint",
]
