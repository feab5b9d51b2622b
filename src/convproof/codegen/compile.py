"""The compile check: emitted kernels built for a GPU architecture with nvcc, no GPU needed.

The kernels are batched into a few translation units (their prelude is guarded, so sources
concatenate), compiled in parallel with ``nvcc -arch=<arch> -cubin``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .kernels import Kernel

ARCH = "sm_90"


class CompileError(RuntimeError):
    """nvcc refused a kernel source."""


def nvcc() -> str | None:
    """The nvcc executable ($CONVPROOF_NVCC or the one on PATH), or None."""
    return shutil.which(os.environ.get("CONVPROOF_NVCC", "nvcc"))


def _build(compiler: str, source: str, arch: str, folder: Path, part: int) -> str | None:
    path = folder / f"part{part}.cu"
    path.write_text(source)
    result = subprocess.run([compiler, f"-arch={arch}", "-cubin", "-o",
                             str(path.with_suffix(".cubin")), str(path)],
                            capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr


def compile_check(kernels: Sequence[Kernel], arch: str = ARCH, jobs: int | None = None) -> None:
    """Compile every kernel for ``arch``; raise CompileError with nvcc's messages if one fails."""
    compiler = nvcc()
    if compiler is None:
        raise CompileError("nvcc was not found (set CONVPROOF_NVCC or put it on PATH)")
    unique = list({kernel.name: kernel for kernel in kernels}.values())
    count = max(1, min(jobs or os.cpu_count() or 1, len(unique)))
    parts = ["\n".join(k.source for k in unique[start::count]) for start in range(count)]
    with tempfile.TemporaryDirectory(prefix="convproof-nvcc-") as folder:
        with ThreadPoolExecutor(count) as pool:
            errors = list(pool.map(_build, [compiler] * count, parts, [arch] * count,
                                   [Path(folder)] * count, range(count)))
    failed = [e for e in errors if e is not None]
    if failed:
        raise CompileError(f"nvcc -arch={arch} failed:\n" + "\n".join(failed))


__all__ = ["ARCH", "CompileError", "compile_check", "nvcc"]
