"""convproof.gpu.module's bookkeeping, against a stand-in for CuPy (no GPU needed): what is
compiled once, and which arrays a launch refuses before the driver sees their pointers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from convproof.codegen.skeleton import Kernel, Param
from convproof.gpu import module


class _Array:
    """A C-contiguous float32 CuPy array on GPU ``device``, as far as a launch reads it."""

    def __init__(self, device: int) -> None:
        self.dtype, self.device = np.dtype(np.float32), SimpleNamespace(id=device)
        self.flags = SimpleNamespace(c_contiguous=True)


@pytest.fixture
def cupy(monkeypatch):
    """A CuPy whose current GPU is 0 and whose RawModule records each source it compiles."""
    compiled: list[str] = []

    class RawModule:
        def __init__(self, code: str, options: tuple) -> None:
            compiled.append(code)

        def get_function(self, name: str):
            return name

    fake = SimpleNamespace(ndarray=_Array, RawModule=RawModule, compiled=compiled,
                           cuda=SimpleNamespace(runtime=SimpleNamespace(getDevice=lambda: 0)))
    monkeypatch.setattr(module, "cupy_module", lambda: fake)
    monkeypatch.setattr(module, "_FUNCTIONS", {})
    return fake


def test_two_sources_of_one_name_are_two_kernels(cupy):
    """A tile's name leaves some of its sizes out (bk, tm, tn): the cache keys the source."""
    first, second = (Kernel("conv2d_fwd_t64x64", f"// bk = {bk}", (), 128, ()) for bk in (8, 16))
    for kernel in (first, second, first, second):
        module.function(kernel)
    assert cupy.compiled == ["// bk = 8", "// bk = 16"]
    assert module.cached() == [("conv2d_fwd_t64x64", 0)] * 2


def test_an_array_on_another_gpu_is_refused_by_name(cupy):
    device = module.CupyDevice(checked=False)
    x = Param("x", "const float*")
    assert device._argument(x, _Array(0)).device.id == 0
    with pytest.raises(ValueError, match=r"argument x is on GPU 1, .* current GPU 0"):
        device._argument(x, _Array(1))
