"""The GPU benchmark: the generated kernels beside PyTorch/cuDNN on the same device and data.

:func:`gpu_suite` is registered with :mod:`convproof.bench` (``convproof bench --gpu``), whose
harness times every case (a thunk that synchronizes before returning) with wall clocks;
:func:`event_rows` times the same cases with CUDA events instead (from the start event to the
end event on the stream: the kernels, and the host's launch of the first of them), for the
committed GPU log.  Per conv layer of :func:`gpu_layers` (the CPU suite's
layers at 8 times their batch, at most 256):

    forward          ours (FP32) beside cuDNN in strict FP32 (TF32 off)
    forward-tf32     ours within :func:`convproof.gpu.allow_tf32` (TF32 tensor cores for
                     groups of 16 or more filters) beside cuDNN with TF32 allowed (what
                     PyTorch users often get)
    forward-bf16     ours within :func:`convproof.gpu.allow_bf16` (float32 arrays, bfloat16
                     tensor cores as above) beside cuDNN on bfloat16 tensors (converted before
                     the timing)
    forward-fp16     the same in float16 (:func:`convproof.gpu.allow_fp16`)
    backward-data    conv2d_input beside torch.nn.grad.conv2d_input (TF32 off)
    backward-weight  conv2d_weight beside torch.nn.grad.conv2d_weight (TF32 off)
    backward-weight-tf32  the same, both with TF32 allowed (ours on tensor cores where the
                     weight gradient is a GEMM: groups of 16 filters and columns or more)

and max/global-average pooling forward and backward.  Every case draws fresh random inputs
and checks our result against PyTorch's before any timing (relative error below 5e-3 for the
TF32 rows, 3e-2 for bfloat16, 1e-2 for float16, 1e-4 otherwise).  GFLOP/s count the direct
algorithm's multiply-adds; the peak is a measured FP32 matrix product (8192^3, TF32 off).
:func:`tile_rows` and :func:`width_rows` time each layer's forward under candidate tile
tables and index widths.  Needs CuPy, PyTorch with CUDA and a GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import bench
from ..bench import Case, ConvLayer, PoolLayer, Suite
from ..codegen import kernels as K
from ..codegen.skeleton import TILES, Tile, tile_table

Thunk = Callable[[], Any]
TOLERANCE = {"forward-tf32": 5e-3, "backward-weight-tf32": 5e-3, "forward-bf16": 3e-2,
             "forward-fp16": 1e-2}
HALF_TENSORS = {"bf16": "bfloat16", "fp16": "float16"}
"""The torch dtype of cuDNN's side in the rows of a 16-bit precision."""
DEFAULT_TOLERANCE = 1e-4


def _modules() -> tuple[Any, Any]:
    import cupy
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("the GPU benchmark needs PyTorch with a CUDA device")
    return cupy, torch


def _cudnn(tf32: bool) -> Any:
    """cuDNN on, autotuned (the warm-up calls tune it), TF32 as asked, its non-deterministic
    algorithms allowed (PyTorch's default: deterministic=False)."""
    _, torch = _modules()
    return torch.backends.cudnn.flags(enabled=True, benchmark=True, allow_tf32=tf32)


def _verified(op: str, ours: Thunk, peer: Thunk) -> tuple[Thunk, Thunk]:
    """Both thunks after one call each whose results agree (relative to PyTorch's max)."""
    cupy, _ = _modules()
    mine = cupy.asnumpy(ours()).astype(np.float64)
    theirs = peer().detach().double().cpu().numpy()
    if mine.shape != theirs.shape:  # a broadcast would compare the wrong entries
        raise AssertionError(f"{op}: ours has shape {mine.shape}, PyTorch {theirs.shape}")
    scale = np.abs(theirs).max() or 1.0
    error = np.abs(mine - theirs).max() / scale
    if not error <= TOLERANCE.get(op, DEFAULT_TOLERANCE):
        raise AssertionError(f"{op}: ours differs from PyTorch by {error:.3g} (relative)")
    return ours, peer


def _conv_cases(layer: ConvLayer) -> list[Case]:
    """forward (FP32, TF32, bfloat16, float16), backward-data, backward-weight (FP32, TF32)
    of one layer."""
    from torch.nn import grad as torch_grad

    from .. import functional as F
    from .. import gpu

    def data(rng: np.random.Generator) -> tuple:
        cupy, torch = _modules()
        x, w, g = (cupy.asarray(a) for a in layer.arrays(rng))
        return x, w, g, *(torch.as_tensor(a, device="cuda") for a in (x, w, g))

    def conv(precision: str | None) -> Callable[[np.random.Generator], tuple[Thunk, Thunk]]:
        allow = gpu.ALLOW[precision or "tf32"]

        def make(rng):
            _, torch = _modules()
            x, w, _, tx, tw, _ = data(rng)
            if precision in HALF_TENSORS:  # cuDNN on 16-bit tensors, converted before timing
                tx, tw = (a.to(getattr(torch, HALF_TENSORS[precision])) for a in (tx, tw))

            def peer():
                with _cudnn(precision == "tf32"):
                    return torch.nn.functional.conv2d(tx, tw, **layer.options())

            def ours():
                with allow(precision is not None):
                    return F.conv2d(x, w, **layer.options())
            return _verified(f"forward-{precision}" if precision else "forward", ours, peer)
        return make

    def backward_data(rng):
        x, w, g, _, tw, tg = data(rng)

        def peer():
            with _cudnn(False):
                return torch_grad.conv2d_input(tuple(x.shape), tw, tg, **layer.options())
        return _verified("backward-data",
                         lambda: F.conv2d_input(x.shape, w, g, **layer.options()), peer)

    def backward_weight(tf32: bool) -> Callable[[np.random.Generator], tuple[Thunk, Thunk]]:
        def make(rng):
            x, w, g, tx, _, tg = data(rng)

            def peer():
                with _cudnn(tf32):
                    return torch_grad.conv2d_weight(tx, tuple(w.shape), tg, **layer.options())

            def ours():
                with gpu.allow_tf32(tf32):
                    return F.conv2d_weight(x, w.shape, g, **layer.options())
            return _verified("backward-weight-tf32" if tf32 else "backward-weight", ours, peer)
        return make

    return [Case(layer.name, "forward", layer.flops, conv(None)),
            Case(layer.name, "forward-tf32", layer.flops, conv("tf32")),
            Case(layer.name, "forward-bf16", layer.flops, conv("bf16")),
            Case(layer.name, "forward-fp16", layer.flops, conv("fp16")),
            Case(layer.name, "backward-data", layer.flops, backward_data),
            Case(layer.name, "backward-weight", layer.flops, backward_weight(False)),
            Case(layer.name, "backward-weight-tf32", layer.flops, backward_weight(True))]


def _pool_cases(layer: PoolLayer) -> list[Case]:
    """max pooling or global average pooling, forward and backward."""
    from .. import functional as F

    window = dict(kernel_size=layer.kernel, stride=layer.stride, padding=layer.padding)

    def data(rng):
        cupy, torch = _modules()
        x = cupy.asarray(rng.standard_normal((layer.batch, layer.channels, layer.size,
                                              layer.size), dtype=np.float32))
        g = cupy.asarray(rng.standard_normal((layer.batch, layer.channels, layer.out_size,
                                              layer.out_size), dtype=np.float32))
        return x, g, torch.as_tensor(x, device="cuda"), torch.as_tensor(g, device="cuda")

    def forward(rng):
        _, torch = _modules()
        x, _, tx, _ = data(rng)
        tf = torch.nn.functional
        if layer.kind == "max":
            return _verified("forward", lambda: F.max_pool2d(x, **window),
                             lambda: tf.max_pool2d(tx, **window))
        return _verified("forward", lambda: F.adaptive_avg_pool2d(x, 1),
                         lambda: tf.adaptive_avg_pool2d(tx, 1))

    def backward(rng):
        _, torch = _modules()
        x, g, tx, tg = data(rng)
        if layer.kind == "max":  # a training step's: each side routes its forward's indices
            _, ours = F.max_pool2d(x, **window, return_indices=True)
            _, index = torch.nn.functional.max_pool2d(tx, **window, return_indices=True)
            return _verified("backward",
                             lambda: F.max_pool2d_backward(g, x, **window, indices=ours),
                             lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                                 tg, tx, [layer.kernel] * 2, [layer.stride] * 2,
                                 [layer.padding] * 2, [1, 1], False, index))
        return _verified("backward", lambda: F.adaptive_avg_pool2d_backward(g, x),
                         lambda: torch.ops.aten._adaptive_avg_pool2d_backward(tg, tx))

    return [Case(layer.name, "forward", layer.ops, forward, gemm_bound=False),
            Case(layer.name, "backward", layer.ops, backward, gemm_bound=False)]


GPU_BATCH = 8
"""The GPU suite runs the CPU suite's layers at this many times their batch (at most
:data:`MAX_BATCH`): at the CPU batches (8 to 32) an H200 finishes most layers in tens of
microseconds, so launch and host overheads, not the kernels, would decide the ratios."""
MAX_BATCH = 256


def gpu_layers() -> tuple[ConvLayer | PoolLayer, ...]:
    """The CPU suite's layers at GPU_BATCH times their batch (at most MAX_BATCH), the batch
    named in each layer's name."""
    layers = []
    for layer in bench.CPU_LAYERS:
        batch = min(MAX_BATCH, layer.batch * GPU_BATCH)
        layers.append(dataclasses.replace(layer, name=f"{layer.name} N={batch}", batch=batch))
    return tuple(layers)


def gpu_cases(quick: bool = False) -> list[Case]:
    """The benchmark cases; their thunks launch work and return without synchronizing."""
    layers = bench.QUICK_LAYERS if quick else gpu_layers()
    cases: list[Case] = []
    for layer in layers:
        cases += _pool_cases(layer) if isinstance(layer, PoolLayer) else _conv_cases(layer)
    return cases


def fp32_peak(size: int = 8192, repeats: int = 5) -> float:
    """The best FP32 matrix product rate (TF32 off) in GFLOP/s, timed with CUDA events."""
    _, torch = _modules()
    a, b = (torch.randn(size, size, device="cuda") for _ in range(2))
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        best = min(event_times(lambda: a @ b, repeats, warmup=2))
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    return 2 * size ** 3 / (best / 1e3) / 1e9


DEVICE_MEMORY = ("peak device memory allocated in one call beyond what was allocated before "
                 "it (ours: CuPy's memory pool, counted by a memory hook; PyTorch: its caching "
                 "allocator's peak, cuDNN's workspace included), the output included")
"""What the MiB columns of the GPU tables count (:func:`device_peak_mib`)."""


def _pool_peak_bytes(thunk: Thunk) -> int:
    """The most bytes of CuPy's memory pool in use at once during ``thunk`` beyond those in
    use before it: every pooled malloc adds its size, every free takes it off."""
    cupy, _ = _modules()
    from cupy.cuda import memory_hook

    class Peak(memory_hook.MemoryHook):
        name = "convproof_peak"

        def __init__(self) -> None:
            self.live = self.peak = 0

        def malloc_postprocess(self, **kwargs: Any) -> None:
            self.live += kwargs["mem_size"]
            self.peak = max(self.peak, self.live)

        def free_postprocess(self, **kwargs: Any) -> None:
            self.live -= kwargs["mem_size"]

    hook = Peak()
    with hook:
        thunk()
        cupy.cuda.get_current_stream().synchronize()
    return hook.peak


def device_peak_mib(thunk: Thunk) -> float:
    """Peak device memory of one call of ``thunk`` in MiB (see :data:`DEVICE_MEMORY`): a thunk
    of ours allocates from CuPy's pool, PyTorch's from its caching allocator, and each is
    measured where it allocates (both counts, as one thunk allocates from one of them only)."""
    _, torch = _modules()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    ours = _pool_peak_bytes(thunk)
    torch.cuda.synchronize()
    theirs = torch.cuda.max_memory_allocated() - before
    return (ours + theirs) / 2**20


def event_times(thunk: Thunk, repeats: int, warmup: int = 3) -> list[float]:
    """Milliseconds of each of ``repeats`` calls, between CUDA events on the current stream,
    which must be CuPy's too (else our kernels would run outside the events)."""
    cupy, torch = _modules()
    ours, theirs = cupy.cuda.get_current_stream().ptr, torch.cuda.current_stream().cuda_stream
    if ours != theirs:
        raise RuntimeError(f"CuPy's current stream ({ours:#x}) is not PyTorch's ({theirs:#x}): "
                           "the events would not time our kernels")
    for _ in range(warmup):
        thunk()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        thunk()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return times


def failure(exc: Exception) -> str:
    """An exception in one line, for a row that failed (its check or a launch)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


LOST = "the CUDA context is lost (a fault CUDA keeps): the rest of this step did not run"
"""What a row that lost the context adds to its error; the step ends there."""


def context_lost() -> bool:
    """Whether the device fails even a synchronization: after an illegal address, say, every
    later call in this process fails, so a step stops instead of failing each case (CuPy
    alone: the kernels step runs without PyTorch's CUDA too)."""
    import cupy
    try:
        cupy.cuda.runtime.deviceSynchronize()
    except cupy.cuda.runtime.CUDARuntimeError:
        return True
    return False


def _event_row(case: Case, rng: np.random.Generator, repeats: int, peak: float
               ) -> dict[str, Any]:
    ours, peer = case.make(rng)
    ours_ms = statistics.median(event_times(ours, repeats))
    peer_ms = statistics.median(event_times(peer, repeats))
    return {"layer": case.layer, "op": case.op, "ours_ms": ours_ms, "peer_ms": peer_ms,
            "ours_mib": device_peak_mib(ours), "peer_mib": device_peak_mib(peer),
            "ratio": peer_ms / ours_ms,
            "ours_gflops": case.flops / ours_ms / 1e6, "peer_gflops": case.flops / peer_ms / 1e6,
            "ours_peak": case.flops / ours_ms / 1e6 / peak if case.gemm_bound else None,
            "peer_peak": case.flops / peer_ms / 1e6 / peak if case.gemm_bound else None,
            "peak_gflops": peak}


def event_rows(quick: bool = False, repeats: int = 20, only: str | None = None,
               progress: Callable[[str], None] = lambda line: None) -> list[dict[str, Any]]:
    """Every case timed with CUDA events (median after warm-up), ours beside PyTorch's.  A
    case whose check or launch fails gives a row {"layer", "op", "error"} and the others
    still run."""
    peak = fp32_peak(2048 if quick else 8192)
    rng = np.random.default_rng()
    rows = []
    for case in gpu_cases(quick):
        if only is not None and only not in case.layer:
            continue
        lost = False
        try:
            row = _event_row(case, rng, repeats, peak)
        except Exception as exc:  # recorded in the row: one wrong case does not end the run
            lost = context_lost()
            row = {"layer": case.layer, "op": case.op,
                   "error": failure(exc) + (f"; {LOST}" if lost else "")}
            progress(f"{case.layer:24s} {case.op:16s} FAILED {row['error']}")
        else:
            progress(f"{case.layer:24s} {case.op:16s} ours {row['ours_ms']:8.3f} ms  torch "
                     f"{row['peer_ms']:8.3f} ms  ratio {row['ratio']:5.2f}")
        rows.append(row)
        if lost:
            break
    return rows


TILE_CANDIDATES: dict[str, tuple[tuple[int, Tile], ...]] = {
    "4x4 a thread": TILES,
    "8x8 a thread above 32 filters": (*TILES[:3], (64, Tile(128, 64, 16, 8, 8)),
                                      (2**62, Tile(128, 128, 16, 8, 8))),
}
"""Tile tables that :func:`tile_rows` times against each other.  A thread's 4 x 4 outputs
take 8 shared-memory loads per 16 FMAs, which caps a tile at half the FP32 peak (an SM
returns one 4-byte register per lane and cycle and runs 4 warp-wide FMAs a cycle); 8 x 8 take
16 loads per 64 FMAs, but 182 registers a thread (ptxas), one block of 8 warps per SM."""


def _forward_ms(layer: ConvLayer, x: Any, w: Any, expected: Any, repeats: int,
                table: tuple[tuple[int, Tile], ...] | None = None, index32: bool = True,
                tensor_cores: str | None = None, winograd: bool = True,
                tensor_core_tile: Tile | None = None) -> float:
    """Median ms of our forward of ``layer`` (strict FP32, or on tensor cores in the precision
    ``tensor_cores`` names) with its kernels built under the tile ``table`` (the tensor-core
    tile ``tensor_core_tile``), in 32-bit indices where allowed (``index32``) and by Winograd
    where it applies (``winograd``): a fresh backend, checked against cuDNN's ``expected``
    first."""
    from .backend import Backend
    from .module import CupyDevice

    backend, spec = Backend(CupyDevice()), layer.spec
    backend.index32, backend.tensor_cores = index32, tensor_cores
    backend.winograd = winograd

    def forward() -> Any:
        return backend.correlate(x, w, spec.stride, spec.padding, spec.dilation, spec.groups)
    tiles = contextlib.ExitStack()
    if table is not None:
        tiles.enter_context(tile_table(table))
    if tensor_core_tile is not None:
        tiles.enter_context(K.tensor_core_tile(tensor_core_tile))
    with tiles:
        op = f"forward-{tensor_cores}" if tensor_cores else "forward"
        _verified(op, forward, lambda: expected)
    return statistics.median(event_times(forward, repeats))


def _candidate_rows(candidates: dict[str, dict[str, Any]], repeats: int, only: str | None,
                    progress: Callable[[str], None], tf32: bool = False,
                    suffix: str = "") -> list[dict[str, Any]]:
    """The forward of every conv layer of the GPU suite under each candidate (keyword
    arguments of :func:`_forward_ms`), checked against cuDNN (TF32 allowed with ``tf32``):
    {"layer" (+ ``suffix``), then ms by candidate}; a candidate whose check or launch fails
    gets None, and its message under "errors"."""
    cupy, torch = _modules()
    rng, rows = np.random.default_rng(), []
    for layer in gpu_layers():
        if isinstance(layer, PoolLayer) or (only is not None and only not in layer.name):
            continue
        x, w, _ = (cupy.asarray(a) for a in layer.arrays(rng))
        with _cudnn(tf32):
            expected = torch.nn.functional.conv2d(torch.as_tensor(x, device="cuda"),
                                                  torch.as_tensor(w, device="cuda"),
                                                  **layer.options())
        row: dict[str, Any] = {"layer": layer.name + suffix}
        errors = {}
        for name, options in candidates.items():
            try:
                row[name] = _forward_ms(layer, x, w, expected, repeats, **options)
            except Exception as exc:  # recorded: the other candidates and layers still run
                row[name], errors[name] = None, failure(exc)
                if context_lost():
                    errors[name] += f"; {LOST}"
                    break
        if errors:
            row["errors"] = errors
        progress(f"{row['layer']:30s} " + "  ".join(
            f"{name} " + ("FAILED" if row.get(name) is None else f"{row[name]:8.3f} ms")
            for name in candidates))
        rows.append(row)
        if _lost([row]):
            break
    return rows


def _lost(rows: list[dict[str, Any]]) -> bool:
    """Whether a row of candidates says the CUDA context was lost (:data:`LOST`)."""
    return any(LOST in error for row in rows for error in row.get("errors", {}).values())


TENSOR_CORE_CANDIDATES: dict[str, Tile] = {
    "64x64, 4 warps": K.TENSOR_CORE_TILE,
    "128x64, 8 warps": Tile(128, 64, 16, 4, 8),
    "64x128, 8 warps": Tile(64, 128, 16, 4, 8),
    "128x128, 16 warps": Tile(128, 128, 16, 4, 8),
}
"""Tensor-core tiles that :func:`tile_rows` times in TF32.  Each warp multiplies 32 x 32
outputs as 2 x 4 mma a step of 8; a larger block reads each im2col and weight value from
global memory once for more warps (128 x 128: half the loads per product of 64 x 64), but
holds fewer blocks per SM (ptxas, sm_90, 32-bit: 96, 93, 99 and 80 registers a thread; 9.2,
13.3, 13.3 and 17.4 KB of shared memory)."""


def tile_rows(repeats: int = 20, only: str | None = None,
              progress: Callable[[str], None] = lambda line: None) -> list[dict[str, Any]]:
    """The strict-FP32 forward of every conv layer of the GPU suite under each table of
    TILE_CANDIDATES, then its TF32 forward under each of TENSOR_CORE_CANDIDATES (rows
    " TF32"), timed with CUDA events (median after warm-up): {"layer", then ms by candidate};
    a candidate whose check or launch fails gets None, and its message under "errors"."""
    candidates = {name: {"table": table} for name, table in TILE_CANDIDATES.items()}
    tensor_cores = {name: {"tensor_cores": "tf32", "tensor_core_tile": tile}
                    for name, tile in TENSOR_CORE_CANDIDATES.items()}
    rows = _candidate_rows(candidates, repeats, only, progress)
    return rows if _lost(rows) else rows + _candidate_rows(
        tensor_cores, repeats, only, progress, tf32=True, suffix=" TF32")


INDEX_WIDTHS = {"64-bit": {"index32": False, "winograd": False},
                "32-bit": {"index32": True, "winograd": False}}
"""The index widths that :func:`width_rows` times against each other (implicit GEMM)."""

WINOGRAD = {"32-bit Winograd": {"index32": True, "winograd": True}}
"""The strict-FP32 candidate that :func:`width_rows` times beside the index widths: F(4x4,
3x3) where it applies (stride-1 3x3 layers; elsewhere the same kernels as "32-bit")."""


def width_rows(repeats: int = 20, only: str | None = None,
               progress: Callable[[str], None] = lambda line: None) -> list[dict[str, Any]]:
    """The forward of every conv layer of the GPU suite with 64-bit and with 32-bit index
    arithmetic (:data:`INDEX_WIDTHS`) and, in strict FP32, by Winograd (:data:`WINOGRAD`),
    then in TF32 (rows " TF32"), timed as :func:`tile_rows` times the tile tables."""
    rows = _candidate_rows({**INDEX_WIDTHS, **WINOGRAD}, repeats, only, progress)
    tf32 = {name: {**options, "tensor_cores": "tf32"} for name, options in INDEX_WIDTHS.items()}
    return rows if _lost(rows) else rows + _candidate_rows(
        tf32, repeats, only, progress, tf32=True, suffix=" TF32")


def _synchronizing(case: Case) -> Case:
    """The case with thunks that wait for the device before returning (the harness's rule)."""
    def make(rng):
        _, torch = _modules()
        ours, peer = case.make(rng)

        def wait(thunk: Thunk) -> Thunk:
            def call():
                result = thunk()
                torch.cuda.synchronize()
                return result
            return call
        return wait(ours), wait(peer)
    return Case(case.layer, case.op, case.flops, make, case.gemm_bound)


@bench.register_gpu_suite
def gpu_suite(quick: bool = False) -> Suite:
    """The GPU suite for ``convproof bench --gpu``: ours beside PyTorch/cuDNN, float32."""
    def setting() -> dict[str, Any]:
        cupy, torch = _modules()
        return {"gpu": torch.cuda.get_device_name(), "cupy": cupy.__version__,
                "torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
                "dtype": "float32", "timer": "wall clock around synchronized calls"}

    return Suite("gpu", "torch", [_synchronizing(c) for c in gpu_cases(quick)],
                 lambda: fp32_peak(2048 if quick else 8192), setting,
                 peak_mib=device_peak_mib, memory=DEVICE_MEMORY)


__all__ = ["DEVICE_MEMORY", "GPU_BATCH", "INDEX_WIDTHS", "MAX_BATCH", "TENSOR_CORE_CANDIDATES",
           "TILE_CANDIDATES", "WINOGRAD", "device_peak_mib", "event_rows", "event_times",
           "failure", "fp32_peak", "gpu_cases", "gpu_layers", "gpu_suite", "tile_rows",
           "width_rows"]
