"""The compile check: emitted kernels built for a GPU architecture, no GPU needed.

The kernels are batched into a few translation units (their prelude is guarded, so sources
concatenate), compiled in parallel by one of two compilers:

    nvcc     ``nvcc -arch=<arch> -cubin`` (the CUDA toolkit's compiler driver)
    nvrtc    NVRTC through CuPy, with the options CuPy's RawModule compiles the kernels with
             at run time (:data:`convproof.gpu.module.OPTIONS` and what CuPy adds to them)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .kernels import Kernel

ARCH = "sm_90"
COMPILERS = ("nvcc", "nvrtc")


class CompileError(RuntimeError):
    """The compiler refused a kernel source, or is not available."""


def nvcc() -> str | None:
    """The nvcc executable ($CONVPROOF_NVCC or the one on PATH), or None."""
    return shutil.which(os.environ.get("CONVPROOF_NVCC", "nvcc"))


def _nvcc_builder(arch: str, folder: Path) -> Callable[[int, str], str | None]:
    compiler = nvcc()
    if compiler is None:
        raise CompileError("nvcc was not found (set CONVPROOF_NVCC or put it on PATH)")

    def build(part: int, source: str) -> str | None:
        path = folder / f"part{part}.cu"
        path.write_text(source)
        result = subprocess.run([compiler, f"-arch={arch}", "-cubin", "-o",
                                 str(path.with_suffix(".cubin")), str(path)],
                                capture_output=True, text=True)
        return None if result.returncode == 0 else result.stderr
    return build


def nvrtc_options(arch: str) -> tuple[str, ...]:
    """The options of a RawModule's NVRTC run: ours, then what CuPy appends, then the arch."""
    from ..gpu.module import CUPY_OPTIONS, OPTIONS
    return (*OPTIONS, *CUPY_OPTIONS, f"-arch={arch}")


def nvrtc() -> Any | None:
    """CuPy's NVRTC binding, or None where CuPy or its NVRTC library does not load."""
    try:
        from cupy.cuda import nvrtc as binding
        binding.getVersion()
    except Exception:  # ImportError, or CuPy without a loadable NVRTC library
        return None
    return binding


def _nvrtc_builder(arch: str) -> Callable[[int, str], str | None]:
    binding = nvrtc()
    if binding is None:
        raise CompileError("NVRTC is not available through CuPy (install convproof[cuda12] or "
                           "convproof[cuda13] with CUDA's NVRTC library)")
    options = nvrtc_options(arch)

    def build(part: int, source: str) -> str | None:
        program = binding.createProgram(source, f"part{part}.cu", (), ())
        try:
            binding.compileProgram(program, options)
            return None
        except binding.NVRTCError:
            return binding.getProgramLog(program)
        finally:
            binding.destroyProgram(program)
    return build


def compile_check(kernels: Sequence[Kernel], arch: str = ARCH, jobs: int | None = None,
                  compiler: str = "nvcc") -> None:
    """Compile every kernel for ``arch`` with ``compiler`` (one of :data:`COMPILERS`); raise
    CompileError with the compiler's messages if one fails."""
    if compiler not in COMPILERS:
        raise ValueError(f"compiler must be one of {', '.join(COMPILERS)}, got {compiler!r}")
    unique = list({kernel.name: kernel for kernel in kernels}.values())
    count = max(1, min(jobs or os.cpu_count() or 1, len(unique)))
    parts = ["\n".join(k.source for k in unique[start::count]) for start in range(count)]
    with tempfile.TemporaryDirectory(prefix="convproof-compile-") as folder:
        build = _nvcc_builder(arch, Path(folder)) if compiler == "nvcc" else _nvrtc_builder(arch)
        with ThreadPoolExecutor(count) as pool:
            errors = list(pool.map(build, range(count), parts))
    failed = [e for e in errors if e is not None]
    if failed:
        raise CompileError(f"{compiler} -arch={arch} failed:\n" + "\n".join(failed))


__all__ = ["ARCH", "COMPILERS", "CompileError", "compile_check", "nvcc", "nvrtc",
           "nvrtc_options"]
