"""CUDA kernels printed from the derivations.

:mod:`.printer` is the CudaPrinter (SymPy's C99 printer with floor division, a mathematical
modulo and Iverson brackets as conditions); :mod:`.derivations` fetches the index expressions
from the theorems; :mod:`.skeleton` holds what every kernel shares (the kernel record, the
static parameters, the slot printers); :mod:`.kernels` (convolution, padding),
:mod:`.winograd` (the F(4x4, 3x3) transforms) and :mod:`.pooling` fill the skeletons;
:mod:`.names` names the kernels; :mod:`.compile` checks the sources with nvcc or NVRTC;
:mod:`.cli` is ``convproof kernels``.
"""

from __future__ import annotations

from .kernels import ConvGeometry, Kernel, PoolGeometry
from .printer import CudaPrinter

__all__ = ["ConvGeometry", "CudaPrinter", "Kernel", "PoolGeometry"]
