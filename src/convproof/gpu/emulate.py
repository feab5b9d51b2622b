"""CPU emulation of the generated kernels: the exact emitted source, compiled with the C++ compiler.

Each kernel's source is compiled unchanged after a small shim header that supplies CUDA's
builtins, and loaded with ctypes:

    blockIdx, threadIdx         per-thread variables; gridDim, blockDim: per launch
    __global__, __device__      nothing / static;  __shared__: storage of the running block;
    __align__(n)                the compiler's aligned attribute
    __syncthreads()             a barrier between the threads of a block
    __int_as_float, __longlong_as_double    bit casts

Blocks run in parallel on the CPU cores (OpenMP), each block on one core.  The threads of a
block that meets barriers run as fibers (ucontext): every thread runs to its next barrier, then
the next thread, the order reversed after every barrier and the first order reversed in every
other block, so a thread that reads shared memory another thread writes between the same two
barriers reads it too early in one of the two orders, in some block, and the result is wrong.
A block whose threads do not all reach the same barrier is an error, as on a GPU.  Threads of
kernels without barriers run one after the other, backwards in every other block.

What a kernel has not written reads as poison: every ``__shared__`` array is filled with 0xFF
bytes (NaN in a float) when its block starts (a statement after each declaration), and local
variables are filled with a pattern where the compiler offers it
(``-ftrivial-auto-var-init=pattern``, GCC 12: -1.7e38 in a float), so an accumulator that is
never zeroed gives a wrong result instead of the 0 that a fresh stack often holds.

Arguments go through guarded copies: every array sits between two guard bands of ``GUARD``
elements filled with a NaN whose payload is that argument's alone (or a sentinel integer),
outputs start as NaN, and a write into a guard band (a changed guard, bit for bit: a NaN made
from another array's guard differs) raises :class:`EmulationError`; a write farther off is not
caught and can corrupt the process, and a read outside an array shows only through the NaN it
brings into an output.  The one warp-level operation, the tensor-core product (``cp_mma_tf32``,
``cp_mma_bf16``, ``cp_mma_fp16``), is emulated from its PTX fragment layout: the lanes of a
warp exchange their fragments at a barrier of the whole block (on a GPU, of the warp: a
missing barrier between warps is not seen here), and the inline PTX of the device helpers is
compiled by nvcc (``convproof kernels --compile``), never run.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..codegen.kernels import Kernel, Param
from ..spec import ceil_div
from .launch import Launch

COMPILER = os.environ.get("CONVPROOF_CXX", "g++")
FLAGS = ("-std=c++17", "-O1", "-fopenmp", "-fPIC", "-shared", "-w")
POISON_LOCALS = "-ftrivial-auto-var-init=pattern"
"""Added to FLAGS where the compiler takes it (GCC 12 and later, Clang 8 and later)."""
CHUNK = 40
"""Kernels per compiler run: each run costs about as much as 20 more kernels in it."""
GUARD = 64
"""Elements of poison on each side of every array."""
INT_POISON = np.int64(-0x5EED_5EED_5EED_5EED)
SCALARS = {"long long": ctypes.c_longlong, "int": ctypes.c_int}
"""The ctypes holder of each integer scalar parameter type."""

SHIM = r"""// convproof CPU emulation shim: CUDA builtins for the exact kernel source
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <omp.h>
struct cp_dim3 { unsigned int x, y, z; };
static cp_dim3 gridDim, blockDim;
static thread_local cp_dim3 threadIdx, blockIdx;
// Shared memory reads as NaN until written: each block's first pass over a declaration fills
// the array with 0xFF bytes (cp_block counts the blocks this core has started).
static thread_local unsigned long long cp_block = 0;
static inline void cp_poison_shared(void *array, size_t bytes, unsigned long long *filled) {
    if (*filled != cp_block) { memset(array, 0xff, bytes); *filled = cp_block; }
}
#define __global__
#define __device__ static
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static thread_local
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
static inline float __int_as_float(int v) { float f; memcpy(&f, &v, sizeof f); return f; }
static inline double __longlong_as_double(long long v) {
    double f; memcpy(&f, &v, sizeof f); return f;
}
enum { CP_READY, CP_WAITING, CP_DONE };
struct cp_fiber { ucontext_t context; int state; };
static const size_t CP_STACK = 64 * 1024;
static thread_local ucontext_t cp_scheduler;
static thread_local cp_fiber *cp_fibers = 0;
static thread_local char *cp_stacks = 0;
static thread_local unsigned cp_capacity = 0;
static thread_local unsigned cp_current = 0;
static thread_local void (*cp_body)(void **) = 0;
static thread_local void **cp_args = 0;
static inline void __syncthreads(void) {
    cp_fibers[cp_current].state = CP_WAITING;
    swapcontext(&cp_fibers[cp_current].context, &cp_scheduler);
}
// Tensor cores.  cp_tf32 rounds like cvt.rna.tf32.f32 (10-bit mantissa, nearest, ties away
// from zero), cp_bf16x2 like cvt.rn.bf16x2.f32 (7-bit mantissa), cp_fp16x2 like
// cvt.rn.f16x2.f32 (10-bit mantissa, exponents -14 to 15: subnormals below, infinity beyond
// 65504), both nearest with ties to even, lo in the low half, NaN the canonical 0x7fff.
// cp_mma_tf32, cp_mma_bf16 and cp_mma_fp16 are one warp's mma.sync m16n8k8 and m16n8k16: the
// lanes leave their fragments here and meet at a barrier, each computes its own part of D
// from the warp's A and B, and they meet again.  PTX's layout, lane l = 4 r + k: D rows r,
// r + 8 at columns 2k, 2k + 1; TF32: A rows r, r + 8 at columns k, k + 4, B rows k, k + 4 at
// column r; 16-bit (two values a register): A columns 2k, 2k + 1 and 2k + 8, 2k + 9, B rows
// likewise at column r.
static inline unsigned cp_tf32(float v) {
    unsigned bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & 0x7f800000u) != 0x7f800000u) bits = (bits + 0x1000u) & 0xffffe000u;
    return bits;
}
static inline unsigned cp_bf16(float v) {
    unsigned bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & 0x7f800000u) == 0x7f800000u) return (bits & 0x007fffffu) ? 0x7fffu : bits >> 16;
    return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
}
static inline unsigned cp_fp16(float v) {
    unsigned bits;
    memcpy(&bits, &v, sizeof bits);
    const unsigned sign = (bits >> 16) & 0x8000u, magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return 0x7fffu;
    if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // 65520 and more: infinite
    if (magnitude < 0x38800000u)                           // below 2^-14: m 2^-24
        return sign | (unsigned)nearbyintf(fabsf(v) * 16777216.0f);
    return sign | ((magnitude - 0x38000000u + 0x0fffu + ((magnitude >> 13) & 1u)) >> 13);
}
static inline unsigned cp_bf16x2(float lo, float hi) { return cp_bf16(hi) << 16 | cp_bf16(lo); }
static inline unsigned cp_fp16x2(float lo, float hi) { return cp_fp16(hi) << 16 | cp_fp16(lo); }
static inline float cp_bits_value(unsigned bits) { float f; memcpy(&f, &bits, sizeof f); return f; }
static inline float cp_bf16_value(unsigned half) { return cp_bits_value(half << 16); }
static inline float cp_fp16_value(unsigned half) {
    const unsigned sign = (half & 0x8000u) << 16, exponent = (half >> 10) & 0x1fu;
    const unsigned mantissa = half & 0x3ffu;
    if (exponent == 0) return (sign ? -1.0f : 1.0f) * mantissa * 5.9604644775390625e-8f;
    if (exponent == 31) return cp_bits_value(sign | 0x7f800000u | mantissa << 13);
    return cp_bits_value(sign | (exponent + 112) << 23 | mantissa << 13);
}
static thread_local unsigned cp_lane_a[1024][4], cp_lane_b[1024][2];
// The lanes' fragments, then for each of this lane's four D entries sum over k of A[row][k]
// B[k][col], element (lane, register, half) of A and B found by the two functions given.
template <typename AOf, typename BOf>
static inline void cp_mma(float *d, const unsigned *a, const unsigned *b, int depth,
                          AOf a_of, BOf b_of) {
    const unsigned t = cp_current, warp = t / 32 * 32, lane = t % 32;
    memcpy(cp_lane_a[t], a, sizeof cp_lane_a[t]);
    memcpy(cp_lane_b[t], b, sizeof cp_lane_b[t]);
    __syncthreads();
    for (unsigned e = 0; e < 4; ++e) {
        const unsigned row = lane / 4 + (e / 2) * 8, col = 2 * (lane % 4) + e % 2;
        float sum = d[e];
        for (int k = 0; k < depth; ++k) sum += a_of(warp, row, k) * b_of(warp, col, k);
        d[e] = sum;
    }
    __syncthreads();
}
static inline void cp_mma_tf32(float *d, const unsigned *a, const unsigned *b) {
    cp_mma(d, a, b, 8,
           [](unsigned warp, unsigned row, int k) {
               return cp_bits_value(cp_lane_a[warp + (row % 8) * 4 + k % 4]
                                             [(row >= 8) + 2 * (k >= 4)]);
           },
           [](unsigned warp, unsigned col, int k) {
               return cp_bits_value(cp_lane_b[warp + col * 4 + k % 4][k >= 4]);
           });
}
// m16n8k16 on pairs of 16-bit values (the lower k in the low half), read by value(half).
template <typename Value>
static inline void cp_mma_pairs(float *d, const unsigned *a, const unsigned *b, Value value) {
    const auto half = [](unsigned pair, int k) { return k % 2 ? pair >> 16 : pair & 0xffffu; };
    cp_mma(d, a, b, 16,
           [=](unsigned warp, unsigned row, int k) {
               return value(half(cp_lane_a[warp + (row % 8) * 4 + (k % 8) / 2]
                                          [(row >= 8) + 2 * (k >= 8)], k));
           },
           [=](unsigned warp, unsigned col, int k) {
               return value(half(cp_lane_b[warp + col * 4 + (k % 8) / 2][k >= 8], k));
           });
}
static inline void cp_mma_bf16(float *d, const unsigned *a, const unsigned *b) {
    cp_mma_pairs(d, a, b, cp_bf16_value);
}
static inline void cp_mma_fp16(float *d, const unsigned *a, const unsigned *b) {
    cp_mma_pairs(d, a, b, cp_fp16_value);
}
static void cp_thread_index(unsigned t) {
    threadIdx.x = t % blockDim.x;
    threadIdx.y = (t / blockDim.x) % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}
static void cp_entry(void) {
    cp_body(cp_args);
    cp_fibers[cp_current].state = CP_DONE;
}
// Runs the threads of one block, first in order or (``reversed``) backwards; 0 when every
// thread ran to its end, 1 on a divergent barrier.
static int cp_run_block(unsigned threads, int synchronizes, unsigned reversed) {
    if (!synchronizes) {
        for (unsigned k = 0; k < threads; ++k) {
            cp_thread_index(reversed ? threads - 1 - k : k);
            cp_body(cp_args);
        }
        return 0;
    }
    if (cp_capacity < threads) {
        free(cp_fibers); free(cp_stacks);
        cp_fibers = (cp_fiber *)calloc(threads, sizeof(cp_fiber));
        cp_stacks = (char *)malloc(threads * CP_STACK);
        cp_capacity = threads;
    }
    for (unsigned t = 0; t < threads; ++t) {
        getcontext(&cp_fibers[t].context);
        cp_fibers[t].context.uc_stack.ss_sp = cp_stacks + t * CP_STACK;
        cp_fibers[t].context.uc_stack.ss_size = CP_STACK;
        cp_fibers[t].context.uc_link = &cp_scheduler;
        makecontext(&cp_fibers[t].context, cp_entry, 0);
        cp_fibers[t].state = CP_READY;
    }
    for (unsigned round = 0;; ++round) {
        for (unsigned k = 0; k < threads; ++k) {
            const unsigned t = (round + reversed) % 2 == 0 ? k : threads - 1 - k;
            if (cp_fibers[t].state == CP_DONE) continue;
            cp_current = t;
            cp_thread_index(t);
            cp_fibers[t].state = CP_READY;
            swapcontext(&cp_scheduler, &cp_fibers[t].context);
        }
        unsigned done = 0;
        for (unsigned t = 0; t < threads; ++t) done += cp_fibers[t].state == CP_DONE;
        if (done == threads) return 0;
        if (done != 0) return 1;
    }
}
static int cp_launch(void (*body)(void **), int synchronizes, unsigned gx, unsigned gy,
                     unsigned gz, unsigned bx, unsigned by, unsigned bz, void **args) {
    gridDim.x = gx; gridDim.y = gy; gridDim.z = gz;
    blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
    const long long blocks = (long long)gx * gy * gz;
    int failed = 0;
    #pragma omp parallel for schedule(dynamic) reduction(|: failed)
    for (long long k = 0; k < blocks; ++k) {
        blockIdx.x = k % gx; blockIdx.y = (k / gx) % gy; blockIdx.z = k / ((long long)gx * gy);
        cp_body = body;
        cp_args = args;
        ++cp_block;
        failed |= cp_run_block(bx * by * bz, synchronizes, k % 2);
    }
    return failed;
}
"""

class EmulationError(RuntimeError):
    """A kernel misbehaved under emulation (divergent barrier, write outside an array)."""


class EmulatorUnavailable(RuntimeError):
    """No C++ compiler with OpenMP to build the emulated kernels with."""


def _wrapper(kernel: Kernel) -> str:
    """The entry point cp_launch_<name>(grid, block, args) that unpacks args like CUDA's
    kernelParams: args[i] points at the value of parameter i."""
    unpacked = ", ".join(f"*({p.ctype} *)args[{i}]" for i, p in enumerate(kernel.params))
    return (f"static void cp_body_{kernel.name}(void **args) {{ {kernel.name}({unpacked}); }}\n"
            f'extern "C" int cp_launch_{kernel.name}(unsigned gx, unsigned gy, unsigned gz, '
            f"unsigned bx, unsigned by, unsigned bz, void **args) {{\n"
            f"    return cp_launch(cp_body_{kernel.name}, {int(kernel.synchronizes)}, "
            f"gx, gy, gz, bx, by, bz, args);\n}}\n")


SHARED = re.compile(r"__shared__ (?:__align__\(\d+\) )?\w+ (\w+)(?:\[\w+\])+;")
"""A shared array's declaration, ``__shared__ [__align__(n)] T name[a][b];``."""


def _poisoned_shared(kernel: Kernel) -> str:
    """The kernel's source with a statement after each shared array's declaration that fills
    the array with 0xFF bytes once a block; a declaration of another form is refused."""
    if kernel.source.count("__shared__") != len(SHARED.findall(kernel.source)):
        raise EmulationError(f"{kernel.name}: a __shared__ declaration the emulator cannot "
                             f"poison (only 'T name[n]...;' arrays)")

    def poisoned(declaration: re.Match) -> str:
        name = declaration.group(1)
        return (f"{declaration.group(0)} static thread_local unsigned long long {name}_block = 0; "
                f"cp_poison_shared({name}, sizeof {name}, &{name}_block);")
    return SHARED.sub(poisoned, kernel.source)


def translation_unit(kernels: Sequence[Kernel]) -> str:
    """The shim, the kernel sources (shared arrays poisoned) and their entry points, as one C++
    file."""
    parts = [SHIM]
    for kernel in kernels:
        parts += [_poisoned_shared(kernel), _wrapper(kernel)]
    return "\n".join(parts)


@functools.cache
def flags() -> tuple[str, ...]:
    """FLAGS, with POISON_LOCALS where the compiler takes it."""
    probe = subprocess.run([COMPILER, POISON_LOCALS, "-x", "c++", "-fsyntax-only", os.devnull],
                           capture_output=True)
    return (*FLAGS, POISON_LOCALS) if probe.returncode == 0 else FLAGS


def _poison(dtype: np.dtype, payload: int = 0) -> Any:
    """Poison of ``dtype``: a quiet NaN carrying ``payload``, or a sentinel integer.  A guard
    band of argument number a carries 0x100 + a (arithmetic keeps the payload of the NaN it
    starts from, so a NaN brought from one array's guard into another's shows)."""
    if dtype.kind != "f":
        return INT_POISON
    bits = np.array(np.nan, dtype).view(f"u{dtype.itemsize}") | payload
    return bits.view(dtype)[()]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.tobytes() == b.tobytes()


def compiler_available() -> bool:
    """Whether the C++ compiler the emulator builds kernels with (CONVPROOF_CXX) is on PATH."""
    return shutil.which(COMPILER) is not None


class Emulator:
    """A device that runs kernels on the CPU: ``xp`` is NumPy, arrays are NumPy arrays.

    Compiled libraries are cached on disk under ``cache_dir`` (by a hash of their text) and
    in memory per kernel name and source.
    """

    xp = np

    def __init__(self, cache_dir: str | os.PathLike | None = None, jobs: int | None = None):
        if not compiler_available():
            raise EmulatorUnavailable(f"CPU emulation needs a C++ compiler with OpenMP: "
                                      f"{COMPILER!r} was not found (set CONVPROOF_CXX)")
        default = Path(tempfile.gettempdir()) / f"convproof-emulate-{os.getuid()}"
        self.cache_dir = Path(cache_dir or os.environ.get("CONVPROOF_EMULATE_CACHE", default))
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.jobs = jobs or os.cpu_count() or 1
        self._entries: dict[tuple[str, str], Any] = {}
        self._libraries: list[ctypes.CDLL] = []

    # -- building -------------------------------------------------------------------------------
    def _key(self, kernel: Kernel) -> tuple[str, str]:
        return kernel.name, hashlib.sha256(kernel.source.encode()).hexdigest()

    def _compile(self, kernels: Sequence[Kernel]) -> Path:
        text = translation_unit(kernels)
        digest = hashlib.sha256((text + " ".join((COMPILER, *flags()))).encode()).hexdigest()[:24]
        library = self.cache_dir / f"{digest}.so"
        if library.exists():
            return library
        source = self.cache_dir / f"{digest}.cpp"
        source.write_text(text)
        partial = self.cache_dir / f"{digest}.{os.getpid()}.tmp"
        result = subprocess.run([COMPILER, *flags(), "-x", "c++", str(source), "-o", str(partial)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            names = ", ".join(k.name for k in kernels)
            raise EmulationError(f"compiling {names} for emulation failed:\n{result.stderr}")
        partial.replace(library)
        return library

    def prepare(self, kernels: Iterable[Kernel]) -> None:
        """Compile every kernel not yet loaded in min(``jobs``, ceil(kernels / CHUNK)) compiler
        runs at once, the kernels dealt out evenly among them."""
        missing: dict[tuple[str, str], Kernel] = {}
        for kernel in kernels:
            if self._key(kernel) not in self._entries:
                missing.setdefault(self._key(kernel), kernel)
        if not missing:
            return
        pending = list(missing.values())
        count = min(self.jobs, ceil_div(len(pending), CHUNK))
        chunks = [pending[start::count] for start in range(count)]
        with ThreadPoolExecutor(len(chunks)) as pool:
            libraries = list(pool.map(self._compile, chunks))
        for chunk, path in zip(chunks, libraries):
            library = ctypes.CDLL(str(path))
            self._libraries.append(library)
            for kernel in chunk:
                entry = getattr(library, f"cp_launch_{kernel.name}")
                entry.restype = ctypes.c_int
                entry.argtypes = [ctypes.c_uint] * 6 + [ctypes.POINTER(ctypes.c_void_p)]
                self._entries[self._key(kernel)] = entry

    # -- running --------------------------------------------------------------------------------
    def empty(self, shape: Sequence[int], dtype: Any) -> np.ndarray:
        """A new array filled with poison (NaN, or a sentinel integer)."""
        dtype = np.dtype(dtype)
        return np.full(tuple(shape), _poison(dtype), dtype=dtype)

    def run(self, launch: Launch) -> None:
        """Run ``launch`` over its whole grid; outputs are written back into the arrays."""
        kernel = launch.kernel
        self.prepare([kernel])
        holders, guarded = [], []
        for argument, (param, value) in enumerate(zip(kernel.params, launch.args)):
            if param.pointer:
                buffer = self._guarded(param, value, argument)
                guarded.append((param, value, buffer, argument))
                holders.append(ctypes.c_void_p(buffer.ctypes.data + GUARD * buffer.itemsize))
            else:
                holders.append(SCALARS[param.ctype](int(param.scalar(value))))
        pointers = (ctypes.c_void_p * len(holders))(
            *(ctypes.cast(ctypes.pointer(h), ctypes.c_void_p) for h in holders))
        status = self._entries[self._key(kernel)](*launch.grid, *launch.block, pointers)
        if status:
            raise EmulationError(f"{kernel.name}: the threads of a block did not all reach the "
                                 "same __syncthreads()")
        for param, value, buffer, argument in guarded:
            poison = np.full(GUARD, _poison(buffer.dtype, 0x100 + argument), dtype=buffer.dtype)
            if not (_same_bits(buffer[:GUARD], poison) and _same_bits(buffer[-GUARD:], poison)):
                raise EmulationError(f"{kernel.name} wrote outside the array {param.name}")
            if param.output:
                value[...] = buffer[GUARD:-GUARD].reshape(value.shape)

    def _guarded(self, param: Param, value: Any, argument: int) -> np.ndarray:
        dtype = param.dtype
        if not isinstance(value, np.ndarray) or value.dtype != dtype:
            raise TypeError(f"argument {param.name} must be a NumPy array of {dtype}, got "
                            f"{getattr(value, 'dtype', type(value).__name__)}")
        if param.output and not value.flags.c_contiguous:
            raise ValueError(f"output {param.name} must be C-contiguous")
        buffer = np.full(value.size + 2 * GUARD, _poison(dtype, 0x100 + argument), dtype=dtype)
        buffer[GUARD:GUARD + value.size] = value.reshape(-1)
        return buffer


__all__ = ["COMPILER", "EmulationError", "Emulator", "EmulatorUnavailable", "SHIM",
           "compiler_available", "translation_unit"]
