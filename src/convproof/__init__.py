"""convproof: CNN convolution derived in SymPy, proved, and printed into NumPy and CUDA kernels.

    import convproof as cp
    cp.functional.conv2d(x, w, stride=2, padding="same")      # NumPy or CuPy arrays
    cp.symbolic.conv_matrix(cp.ConvSpec(1, 1, (3, 3)), (1, 5, 5))   # the banded matrix
    cp.testing.check_conv2d(my_conv, stride=2)                # diagnose your own conv

Submodules load on first use, so ``import convproof`` stays light and works without CuPy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
_SUBMODULES = ("functional", "reference", "symbolic", "nn", "testing", "codegen", "gpu",
               "report", "cpu")
__all__ = ["ConvSpec", "PoolSpec", "__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in ("ConvSpec", "PoolSpec"):
        from . import spec

        return getattr(spec, name)
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'convproof' has no attribute {name!r}")
