"""CuPy RawModule loading: each kernel compiled once per (name, source, device) and cached.

The kernels are ``extern "C"`` functions, so the module needs no name expressions; CuPy
compiles them with NVRTC for the current device, with :data:`OPTIONS` followed by
:data:`CUPY_OPTIONS`.  A launch whose driver call fails raises
:class:`CudaLaunchError` naming the kernel, grid and block.  A checked device (the default
where the environment variable CONVPROOF_CUDA_CHECK=1) also synchronizes after every launch,
so that a fault inside the kernel is reported by that launch, and fills every new output with
NaN (index outputs with -1), so that an output a kernel forgets to write shows.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arrays import cupy_module
from ..codegen.kernels import Kernel
from .launch import Launch

OPTIONS = ("--std=c++17",)
CUPY_OPTIONS = ("-ftz=true",)
"""What CuPy appends to every RawModule's options, after ours (NVRTC keeps the last of two
-ftz, so no option of ours undoes it): the float32 kernels flush subnormal operands and results
to zero (magnitudes below 2^-126, about 1.2e-38), where the CPU paths, the CPU emulation and
the reference keep them; float64 kernels keep them too."""
_FUNCTIONS: dict[tuple[str, str, int], Any] = {}


class CudaLaunchError(RuntimeError):
    """A kernel launch (or the kernel itself, when synchronizing) failed on the GPU."""


def function(kernel: Kernel) -> Any:
    """The compiled kernel on the current device, compiled on first use (keyed by its source
    too: two tiles that differ only in a size the name leaves out are two kernels)."""
    cupy = cupy_module()
    source = hashlib.sha256(kernel.source.encode()).hexdigest()
    key = (kernel.name, source, cupy.cuda.runtime.getDevice())
    if key not in _FUNCTIONS:
        module = cupy.RawModule(code=kernel.source, options=OPTIONS)
        _FUNCTIONS[key] = module.get_function(kernel.name)
    return _FUNCTIONS[key]


def cached() -> list[tuple[str, int]]:
    """The (kernel name, device id) of each kernel compiled so far (a name twice where two
    sources share it)."""
    return [(name, device) for name, _, device in _FUNCTIONS]


class CupyDevice:
    """Runs kernels on the current CUDA device; arrays are CuPy arrays."""

    def __init__(self, checked: bool | None = None) -> None:
        self.xp = cupy_module()
        if checked is None:
            checked = os.environ.get("CONVPROOF_CUDA_CHECK", "") == "1"
        self.checked = checked

    def empty(self, shape: Sequence[int], dtype: Any) -> Any:
        """A new array: uninitialized, or poisoned on a checked device."""
        dtype = np.dtype(dtype)
        if not self.checked:
            return self.xp.empty(tuple(shape), dtype=dtype)
        return self.xp.full(tuple(shape), np.nan if dtype.kind == "f" else -1, dtype=dtype)

    def _argument(self, param: Any, value: Any) -> Any:
        if not param.pointer:
            return param.scalar(value)
        if not isinstance(value, self.xp.ndarray) or value.dtype != param.dtype:
            raise TypeError(f"argument {param.name} must be a CuPy array of {param.dtype}, got "
                            f"{getattr(value, 'dtype', type(value).__name__)}")
        if not value.flags.c_contiguous:
            raise ValueError(f"argument {param.name} must be C-contiguous")
        current = self.xp.cuda.runtime.getDevice()
        if value.device.id != current:  # a pointer into another GPU's memory: a fault
            raise ValueError(f"argument {param.name} is on GPU {value.device.id}, the kernels "
                             f"run on the current GPU {current}: call within "
                             f"cupy.cuda.Device({value.device.id})")
        return value

    def run(self, launch: Launch) -> None:
        """Launch, then check for errors (to the kernel's end on a checked device)."""
        kernel = launch.kernel
        args = tuple(self._argument(p, v) for p, v in zip(kernel.params, launch.args))
        errors = (self.xp.cuda.driver.CUDADriverError, self.xp.cuda.runtime.CUDARuntimeError)
        try:
            function(kernel)(launch.grid, launch.block, args)
            if self.checked:
                self.xp.cuda.get_current_stream().synchronize()
        except errors as exc:
            raise CudaLaunchError(f"{kernel.name} with grid {launch.grid}, block {launch.block}: "
                                  f"{exc}") from exc


__all__ = ["CUPY_OPTIONS", "CudaLaunchError", "CupyDevice", "OPTIONS", "cached", "cupy_module",
           "function"]
