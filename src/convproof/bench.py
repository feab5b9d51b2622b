"""``convproof bench``: speed beside PyTorch, measured in one process on the same data.

    convproof bench [--cpu | --gpu] [--json] [--quick] [--repeats R] [--only TEXT] [--output PATH]

Every figure is a pair: this project's function and PyTorch's, called on the same arrays, on the
same threads (``torch.set_num_threads`` = NumPy's BLAS threads), in two rounds of alternating
order, each side timed after a pause that lets the other library's worker threads stop
spinning and after ``WARMUP`` seconds of untimed calls (:func:`time_pair`); each time is the
median of the repeats.  A row states

    ratio = t_torch / t_ours          (> 1: faster than PyTorch)
    GFLOP/s = flops / t               (flops of the direct algorithm: 2 N K (C/G) prod(k) prod(o))
    % peak = GFLOP/s / measured SGEMM peak of this machine (float32, 2048³: the best of
             np.matmul, np.matmul with the kernels OpenBLAS picks itself where the environment
             chose others, and the peer's matrix product, all measured in the run)
    MiB = peak resident memory growth during one call (VmHWM after - VmRSS before, with the
          high-water mark reset through /proc/self/clear_refs; "-" where Linux does not offer it);
          a suite may measure its own way (the GPU suite: peak device memory, Suite.peak_mib)
    load = the 1-minute load average before the row (os.getloadavg)
    others = the fraction of the cores other processes kept busy just before the row

Before the suite the C allocator is put in its steady state (:func:`steady_allocator`), so
that no row's times depend on the rows before it.  Before each attempt the runner waits (up
to ``PATIENCE`` s) until other processes use less than ``QUIET`` of the machine.  A row
whose repeats spread by more than ``NOISE`` (max/min - 1 of either side) is measured again,
up to ``RETRIES`` times, keeping the attempt of the smallest spread; the spread is printed too.
The summary gives geometric means of the ratios: the forward rows (convolutions and pooling),
the training step per layer (times summed: forward + backward-data + backward-weight, or
forward + backward), every row, and the smallest ratio.

Suites: ``--cpu`` (the default) is :func:`cpu_suite`.  ``--gpu`` runs the suites that
:mod:`convproof.gpu` registers with :func:`register_gpu_suite` when CuPy and a CUDA device
exist (each a factory ``quick -> Suite``, whose case functions synchronize before returning);
without a device it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import functools
import importlib
import importlib.util
import itertools
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .cpu import threads as cpu_threads
from .cpu import workspace
from .cpu.threads import count as blas_threads
from .progress import to_stderr
from .spec import ConvSpec, PoolSpec

NOISE = 0.25
RETRIES = 2
SETTLE = 0.25
WARMUP = 0.2
QUIET = 0.2
PATIENCE = 60.0
Thunk = Callable[[], Any]
MEMORY = ("peak resident growth in one call (ours with the scratch buffers it keeps between "
          "calls allocated anew)")
"""What the MiB columns of the CPU suite count (:func:`peak_memory_mib`)."""


# --------------------------------------------------------------------------------------------
# Cases and suites
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One measured operation: ``make(rng)`` prepares the data and returns (ours, peer) thunks."""

    layer: str
    op: str
    flops: float
    make: Callable[[np.random.Generator], tuple[Thunk, Thunk]]
    gemm_bound: bool = True  # compared to the SGEMM peak (not for pooling)


@dataclass
class Suite:
    """Cases, the name of the peer, the machine's peak and a description of the setting."""

    name: str
    peer: str
    cases: list[Case]
    peak_gflops: Callable[[], float]
    setting: Callable[[], dict[str, Any]] = dict
    forget: Callable[[], None] = lambda: None
    """Frees what ours keeps between calls (scratch buffers), so that the measured call's peak
    memory includes them."""
    peak_mib: Callable[[Thunk], float | None] | None = None
    """The peak memory of one call (ours, then the peer's); None: :func:`peak_memory_mib`."""
    memory: str = MEMORY
    """What the MiB columns count, for the table's legend."""


_GPU_SUITES: list[Callable[[bool], Suite]] = []


def register_gpu_suite(factory: Callable[[bool], Suite]) -> Callable[[bool], Suite]:
    """Decorator for :mod:`convproof.gpu`: ``factory(quick)`` returns the GPU suite."""
    _GPU_SUITES.append(factory)
    return factory


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library where it offers glibc's mallopt and malloc_trim, else None."""
    try:
        libc = ctypes.CDLL(None)
        if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
            return None
    except OSError:
        return None
    return libc


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


KEPT_HEAP = 2**30
"""Free heap glibc keeps instead of handing it back (M_TRIM_THRESHOLD), for both sides."""


def steady_allocator() -> None:
    """glibc's steady state, fixed for the timings of both sides: blocks under 32 MiB come from
    the heap and up to KEPT_HEAP of free heap is kept.  glibc's dynamic threshold gets there
    once the process frees a large block; before that, a call that allocates more than twice
    the largest block freed so far maps fresh zeroed pages every time (torch's depthwise 3x3
    at 128 channels, 56x56: ~9,400 page faults a call, 14 ms instead of 2.3), so a row's
    times would depend on the rows run before it.  A call that frees more heap than is kept
    hands it back and faults it in again on the next call (torch's 1x1 256->64 input
    gradient at 64 MiB kept: ~20,000 faults a call, 23 ms instead of 3.5): a cost of the
    allocator's setting, not of the convolution, so the heap is kept."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
        libc.mallopt(_M_TRIM_THRESHOLD, KEPT_HEAP)


@contextlib.contextmanager
def _mapped_blocks() -> Iterator[None]:
    """With glibc, blocks of 64 KiB and more are mapped when allocated and unmapped when freed
    and the free heap is returned first, so the resident size follows the live arrays (memory
    freed earlier and reused from the heap would hide a call's peak).  Only the memory pass
    runs so: an allocator that returns memory eagerly slows both sides."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 64 * 2**10)
    libc.malloc_trim(0)  # give the free heap back, so that reusing it shows as growth
    try:
        yield
    finally:
        steady_allocator()


def peak_memory_mib(thunk: Thunk) -> float | None:
    """Peak resident memory growth during one call of ``thunk``, in MiB (None off Linux).  The
    high-water mark is reset after the allocator has given the free heap back, else the
    memory given back would count as growth."""
    with _mapped_blocks():
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # reset the high-water mark to the current resident size
        except OSError:
            return None
        before = _status_kib("VmRSS")
        thunk()
        after = _status_kib("VmHWM")
    if before is None or after is None:
        return None
    return max(0, after - before) / 1024


def _spread(times: Sequence[float]) -> float:
    return max(times) / min(times) - 1


def time_pair(ours: Thunk, peer: Thunk, repeats: int, warmup: int = 1
              ) -> tuple[list[float], list[float]]:
    """``repeats`` timed calls of each thunk, in two rounds (ours first, then the peer first).

    In a round each side gets ``SETTLE`` seconds without calls (the other library's worker
    threads stop spinning: OpenBLAS's keep a core busy for ~0.2 s after a GEMM, which slows
    PyTorch 2x when it runs right after), untimed calls for ``WARMUP`` seconds (``warmup``
    calls at least: after the pause a thread pool's second core needs ~0.1 s of work before
    it runs at speed), then its share of the repeats back to back, as in a training loop
    that calls one library.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for round_, order in enumerate((((0, ours), (1, peer)), ((1, peer), (0, ours)))):
        for side, thunk in order:
            time.sleep(SETTLE)
            warm_until = time.perf_counter() + WARMUP
            for count in itertools.count():
                if count >= warmup and time.perf_counter() >= warm_until:
                    break
                thunk()
            for _ in range((repeats + 1 - round_) // 2):
                started = time.perf_counter()
                thunk()
                times[side].append(time.perf_counter() - started)
    return times


@dataclass
class Row:
    """The measured figures of one case."""

    layer: str
    op: str
    ours_ms: float
    peer_ms: float
    ratio: float
    ours_gflops: float
    peer_gflops: float
    ours_peak: float | None
    peer_peak: float | None
    ours_mib: float | None
    peer_mib: float | None
    spread: float
    load: float
    busy: float | None
    attempts: int


def _cpu_ticks() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)


def others_busy(interval: float = 0.2) -> float | None:
    """The fraction of the machine's cores busy during ``interval`` while this process sleeps:
    the work of other processes (None off Linux)."""
    before = _cpu_ticks()
    time.sleep(interval)
    after = _cpu_ticks()
    if before is None or after is None or after[1] == before[1]:
        return None
    return 1 - (after[0] - before[0]) / (after[1] - before[1])


def wait_for_quiet(progress: Callable[[str], None] | None = None) -> float | None:
    """Wait (at most ``PATIENCE`` seconds) until other processes use less than ``QUIET`` of
    the machine, saying so to ``progress`` when it waits; the last measured fraction."""
    deadline = time.monotonic() + PATIENCE
    busy = others_busy()
    if progress is not None and busy is not None and busy > QUIET:
        progress(f"other processes use {pct(busy)} of the machine: waiting up to "
                 f"{PATIENCE:.0f} s for them to go quiet")
    while busy is not None and busy > QUIET and time.monotonic() < deadline:
        time.sleep(1.0)
        busy = others_busy()
    return busy


def measure(case: Case, repeats: int, peak: float, rng: np.random.Generator,
            progress: Callable[[str], None] | None = None) -> Row:
    """Median times of both sides (rerun when noisy) and throughput of a case (the memory
    columns are filled by :func:`measure_memory`, after every timing)."""
    ours, peer = case.make(rng)
    best = None
    for attempt in range(1, RETRIES + 2):
        busy = wait_for_quiet(progress)
        load = os.getloadavg()[0]
        ours_t, peer_t = time_pair(ours, peer, repeats)
        spread = max(_spread(ours_t), _spread(peer_t))
        if best is None or spread < best[2]:
            best = (statistics.median(ours_t), statistics.median(peer_t), spread, load, busy,
                    attempt)
        if spread <= NOISE:
            break
    ours_s, peer_s, spread, load, busy, attempts = best
    fraction = (lambda s: case.flops / s / 1e9 / peak) if case.gemm_bound else (lambda s: None)
    return Row(case.layer, case.op, ours_s * 1e3, peer_s * 1e3, peer_s / ours_s,
               case.flops / ours_s / 1e9, case.flops / peer_s / 1e9, fraction(ours_s),
               fraction(peer_s), None, None, spread, load, busy, attempts)


def measure_memory(case: Case, row: Row, rng: np.random.Generator,
                   forget: Callable[[], None],
                   peak_mib: Callable[[Thunk], float | None] | None = None) -> None:
    """The peak memory of one call of each side (after one call to warm up, ours with its
    kept buffers forgotten first), into ``row``, measured by ``peak_mib`` (by default
    :func:`peak_memory_mib`)."""
    peak_mib = peak_mib or peak_memory_mib
    ours, peer = case.make(rng)
    ours(), peer()
    forget()
    row.ours_mib, row.peer_mib = peak_mib(ours), peak_mib(peer)


def geometric_mean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def summarize(rows: Sequence[Row]) -> dict[str, Any]:
    """Geometric-mean ratios: forward, training step (fwd + both backwards, summed per layer)."""
    forward = [r.ratio for r in rows if r.op == "forward"]
    layers: dict[str, list[Row]] = {}
    for r in rows:
        layers.setdefault(r.layer, []).append(r)
    step = [sum(r.peer_ms for r in group) / sum(r.ours_ms for r in group)
            for group in layers.values()]
    lowest = min(rows, key=lambda r: r.ratio)
    return {"forward_geomean": geometric_mean(forward) if forward else None,
            "step_geomean": geometric_mean(step),
            "all_geomean": geometric_mean([r.ratio for r in rows]),
            "lowest": {"layer": lowest.layer, "op": lowest.op, "ratio": lowest.ratio}}


# --------------------------------------------------------------------------------------------
# The CPU suite
# --------------------------------------------------------------------------------------------

def sgemm_peak(size: int = 2048, repeats: int = 5,
               product: Callable[[np.ndarray, np.ndarray], Thunk] | None = None) -> float:
    """The best float32 matrix product rate on size x size matrices, in GFLOP/s: np.matmul's,
    or the product ``product(a, b)`` returns a thunk for (torch.mm's, say)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    thunk = product(a, b) if product is not None else (lambda: a @ b)
    thunk()
    best = min(_timed(thunk) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def _sgemm_with_openblas_s_choice(size: int) -> float | None:
    """sgemm_peak in a child process without OPENBLAS_CORETYPE (read when NumPy loads), so
    that OpenBLAS runs the kernels it picks for this CPU; None where the variable is not set
    or the child fails."""
    if "OPENBLAS_CORETYPE" not in os.environ:
        return None
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    child = subprocess.run([sys.executable, "-c", "from convproof.bench import sgemm_peak; "
                            f"print(sgemm_peak({size}))"], env=environment,
                           capture_output=True, text=True, timeout=300)
    try:
        return float(child.stdout) if child.returncode == 0 else None
    except ValueError:
        return None


def _timed(thunk: Thunk) -> float:
    started = time.perf_counter()
    thunk()
    return time.perf_counter() - started


@dataclass(frozen=True)
class ConvLayer:
    """A 2-D convolution layer of the suite: a batch of size x size inputs and its ConvSpec."""

    name: str
    batch: int
    size: int
    spec: ConvSpec

    @property
    def out_size(self) -> tuple[int, ...]:
        return self.spec.output_size((self.size, self.size))

    @property
    def flops(self) -> float:
        """2 N K (C/G) prod(k) prod(o): the multiply-adds of the direct sum, each pass."""
        return 2.0 * self.batch * math.prod(self.spec.weight_shape) * math.prod(self.out_size)

    def arrays(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Standard-normal float32 input, weight and output gradient."""
        shapes = ((self.batch, self.spec.in_channels, self.size, self.size),
                  self.spec.weight_shape, (self.batch, self.spec.out_channels, *self.out_size))
        return tuple(rng.standard_normal(shape, dtype=np.float32) for shape in shapes)

    def options(self) -> dict[str, Any]:
        """The keyword arguments of conv2d, as both libraries take them (symmetric padding)."""
        s = self.spec
        return dict(stride=s.stride, padding=tuple(lo for lo, _ in s.padding),
                    dilation=s.dilation, groups=s.groups)


def conv_layer(name: str, batch: int, in_channels: int, out_channels: int, size: int,
               kernel: int, **options: int) -> ConvLayer:
    """ConvLayer of a k x k conv with the ConvSpec options (stride, padding, ...)."""
    return ConvLayer(name, batch, size, ConvSpec(in_channels, out_channels, (kernel, kernel),
                                                 **options))


def _conv_cases(layer: ConvLayer) -> list[Case]:
    """forward, backward-data, backward-weight of one layer, ours beside torch."""
    import torch
    from torch.nn import grad as torch_grad

    from . import functional as F

    def forward(rng):
        x, w, _ = layer.arrays(rng)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        return (lambda: F.conv2d(x, w, **layer.options()),
                lambda: torch.nn.functional.conv2d(tx, tw, **layer.options()))

    def backward_data(rng):
        x, w, g = layer.arrays(rng)
        tw, tg = torch.from_numpy(w), torch.from_numpy(g)
        return (lambda: F.conv2d_input(x.shape, w, g, **layer.options()),
                lambda: torch_grad.conv2d_input(x.shape, tw, tg, **layer.options()))

    def backward_weight(rng):
        x, w, g = layer.arrays(rng)
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        return (lambda: F.conv2d_weight(x, w.shape, g, **layer.options()),
                lambda: torch_grad.conv2d_weight(tx, w.shape, tg, **layer.options()))

    return [Case(layer.name, "forward", layer.flops, forward),
            Case(layer.name, "backward-data", layer.flops, backward_data),
            Case(layer.name, "backward-weight", layer.flops, backward_weight)]


@dataclass(frozen=True)
class PoolLayer:
    """A 2-D pooling layer of size x size inputs: max pooling with its square PoolSpec, or
    global average pooling (spec None)."""

    name: str
    batch: int
    channels: int
    size: int
    spec: PoolSpec | None = None

    @property
    def kind(self) -> str:
        return "global" if self.spec is None else "max"

    @property
    def kernel(self) -> int:
        return self.size if self.spec is None else self.spec.kernel_size[0]

    @property
    def stride(self) -> int:
        return 1 if self.spec is None else self.spec.stride[0]

    @property
    def padding(self) -> int:
        return 0 if self.spec is None else self.spec.padding[0]

    @property
    def out_size(self) -> int:
        """Outputs per axis."""
        return 1 if self.spec is None else self.spec.output_size((self.size, self.size))[0]

    @property
    def ops(self) -> float:
        """One operation per tap of every window."""
        return float(self.batch * self.channels * (self.kernel * self.out_size) ** 2)


def _pool_cases(layer: PoolLayer) -> list[Case]:
    """forward and backward of one pooling layer, ours beside torch."""
    import torch

    from . import functional as F

    tf = torch.nn.functional
    spec = layer.spec
    window = {} if spec is None else dict(kernel_size=spec.kernel_size, stride=spec.stride,
                                          padding=spec.padding)

    def arrays(rng):
        x = rng.standard_normal((layer.batch, layer.channels, layer.size, layer.size),
                                dtype=np.float32)
        g = rng.standard_normal((layer.batch, layer.channels, layer.out_size, layer.out_size),
                                dtype=np.float32)
        return x, g, torch.from_numpy(x), torch.from_numpy(g)

    def forward(rng):
        x, _, tx, _ = arrays(rng)
        if spec is not None:
            return lambda: F.max_pool2d(x, **window), lambda: tf.max_pool2d(tx, **window)
        return lambda: F.adaptive_avg_pool2d(x, 1), lambda: tf.adaptive_avg_pool2d(tx, 1)

    def backward(rng):
        x, g, tx, tg = arrays(rng)
        if spec is not None:  # each side's backward of a training step: each routes the
            # indices its forward saved (as the layers do)
            _, ours = F.max_pool2d(x, **window, return_indices=True)
            _, indices = tf.max_pool2d(tx, **window, return_indices=True)
            return (lambda: F.max_pool2d_backward(g, x, **window, indices=ours),
                    lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                        tg, tx, list(spec.kernel_size), list(spec.stride), list(spec.padding),
                        list(spec.dilation), False, indices))
        return (lambda: F.adaptive_avg_pool2d_backward(g, x),
                lambda: torch.ops.aten._adaptive_avg_pool2d_backward(tg, tx))

    return [Case(layer.name, "forward", layer.ops, forward, gemm_bound=False),
            Case(layer.name, "backward", layer.ops, backward, gemm_bound=False)]


MAX_POOL = PoolSpec((3, 3), 2, 1)
CPU_LAYERS: tuple[ConvLayer | PoolLayer, ...] = (
    conv_layer("conv1 7x7/2 3->64 224", 8, 3, 64, 224, 7, stride=2, padding=3),
    PoolLayer("maxpool 3x3/2 64 112", 8, 64, 112, MAX_POOL),
    conv_layer("3x3 64->64 56", 8, 64, 64, 56, 3, padding=1),
    conv_layer("1x1 64->256 56", 8, 64, 256, 56, 1),
    conv_layer("1x1 256->64 56", 8, 256, 64, 56, 1),
    conv_layer("3x3/2 128->128 56", 8, 128, 128, 56, 3, stride=2, padding=1),
    conv_layer("3x3 128->128 28", 16, 128, 128, 28, 3, padding=1),
    conv_layer("1x1/2 256->512 56", 8, 256, 512, 56, 1, stride=2),
    conv_layer("3x3 256->256 14", 32, 256, 256, 14, 3, padding=1),
    conv_layer("1x1 256->256 14", 32, 256, 256, 14, 1),
    conv_layer("3x3 512->512 7", 32, 512, 512, 7, 3, padding=1),
    conv_layer("1x1 512->2048 7", 32, 512, 2048, 7, 1),
    conv_layer("dw 3x3 128 56", 8, 128, 128, 56, 3, padding=1, groups=128),
    conv_layer("dw 3x3/2 256 28", 16, 256, 256, 28, 3, stride=2, padding=1, groups=256),
    conv_layer("dil2 3x3 256->256 28", 8, 256, 256, 28, 3, padding=2, dilation=2),
    PoolLayer("global avg 2048 7", 256, 2048, 7),
)
QUICK_LAYERS: tuple[ConvLayer | PoolLayer, ...] = (
    conv_layer("3x3 8->8 12", 2, 8, 8, 12, 3, padding=1),
    conv_layer("1x1 8->16 6", 2, 8, 16, 6, 1),
    PoolLayer("maxpool 3x3/2 4 9", 2, 4, 9, MAX_POOL),
)


def cpu_suite(quick: bool = False) -> Suite:
    """The layer suite on NumPy float32 beside PyTorch CPU (``quick``: a tiny smoke suite).

    PyTorch's allocator is asked for transparent huge pages (THP_MEM_ALLOC_ENABLE=1, read
    when torch is first imported), as NumPy's asks for arrays of 4 MiB and more: an output of
    98 MiB otherwise costs torch 25,000 page faults a call and NumPy 560."""
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    import torch

    threads = blas_threads()
    torch.set_num_threads(threads)
    cases = []
    for layer in QUICK_LAYERS if quick else CPU_LAYERS:
        cases += _pool_cases(layer) if isinstance(layer, PoolLayer) else _conv_cases(layer)

    peaks: dict[str, float] = {}

    def peak() -> float:
        """The machine's SGEMM peak: the best of NumPy's BLAS (its kernels as the environment
        chose them, and as OpenBLAS chooses them itself) and torch's, each measured here."""
        size = 256 if quick else 2048
        peaks["numpy"] = sgemm_peak(size)
        own = _sgemm_with_openblas_s_choice(size)
        if own is not None:
            peaks["numpy_own_kernels"] = own
        peaks["torch"] = sgemm_peak(size, product=lambda a, b: functools.partial(
            torch.mm, torch.from_numpy(a), torch.from_numpy(b)))
        return max(peaks.values())

    def setting() -> dict[str, Any]:
        return {"threads": threads, "numpy": np.__version__, "blas": cpu_threads.blas(),
                "torch": torch.__version__, "cpu": _cpu_name(), "cores": os.cpu_count(),
                "dtype": "float32", **{f"sgemm_{side}": f"{rate:.0f} GFLOP/s"
                                       for side, rate in peaks.items()},
                "torch_huge_pages": os.environ.get("THP_MEM_ALLOC_ENABLE", "0")}

    return Suite("cpu", "torch", cases, peak, setting, workspace.clear)


BLAS_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS", "THP_MEM_ALLOC_ENABLE")
"""Variables read when NumPy's BLAS or torch loads (kernels, threads, huge pages): a rerun
needs them too."""


def rerun_command(argv: Sequence[str]) -> str:
    """The command, quoted for a shell, after the BLAS_ENVIRONMENT variables that are set."""
    settings = [f"{name}={shlex.quote(os.environ[name])}" for name in BLAS_ENVIRONMENT
                if name in os.environ]
    return " ".join([*settings, shlex.join(argv)])


def _cpuinfo(field: str) -> str | None:
    """The value of the first ``field`` line of /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info
                         if line.startswith(field)), None)
    except OSError:
        return None


def _cpu_flags() -> set[str]:
    """The CPU's feature flags, else none."""
    return set((_cpuinfo("flags") or "").split())


def blas_hint(cpu_flags: set[str], blas: str, coretype: str | None) -> str | None:
    """A line for the progress when OpenBLAS runs its AVX2 (Haswell) kernels on a CPU with
    AVX-512 (``coretype``: OPENBLAS_CORETYPE, which can force them): its AVX-512 kernels ran
    SGEMM 1.9x as fast on AMD Zen 5 (benchmarks/NOTES.md, item 52)."""
    if "avx512f" not in cpu_flags or "(Haswell kernels)" not in blas:
        return None
    cause = f" (OPENBLAS_CORETYPE={coretype})" if coretype else ""
    return (f"note: NumPy's OpenBLAS runs its Haswell (AVX2) kernels on this CPU with "
            f"AVX-512{cause}; OPENBLAS_CORETYPE=SkylakeX, set before Python starts, selects "
            "its AVX-512 kernels")


def _cpu_name() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


# --------------------------------------------------------------------------------------------
# GPU: the suites convproof.gpu registers
# --------------------------------------------------------------------------------------------

NO_PEER = "needs PyTorch, the peer measured in the same run: pip install torch"


def gpu_unavailable() -> str | None:
    """Why no GPU suite can run here, or None."""
    if importlib.util.find_spec("torch") is None:
        return NO_PEER
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device"
    except Exception as exc:  # CuPy missing or no driver: both mean no GPU here
        return f"CuPy/CUDA unavailable ({type(exc).__name__}: {exc})"
    try:
        importlib.import_module("convproof.gpu")
    except Exception as exc:
        return f"convproof.gpu cannot be imported ({type(exc).__name__}: {exc})"
    if not _GPU_SUITES:
        return "convproof.gpu registers no benchmark suite"
    return None


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: header (date, machine, command, peak), table, summary."""
    setting = ", ".join(f"{k}={v}" for k, v in report["setting"].items())
    peer = report["peer"]
    lines = [
        f"# convproof bench --{report['suite']}: {report['date']}",
        "",
        f"- command: `{report['command']}`",
        f"- machine: {report['machine']}; {setting}",
        f"- measured SGEMM peak: {report['peak_gflops']:.0f} GFLOP/s; repeats: "
        f"{report['repeats']} (median), rows rerun when the spread exceeds {NOISE:.0%}",
        "",
        f"| layer | pass | ours ms | {peer} ms | ratio | ours GFLOP/s | % peak | {peer} GFLOP/s "
        f"| % peak | ours MiB | {peer} MiB | spread | load | others |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['layer']} | {r['op']} | {r['ours_ms']:.2f} | {r['peer_ms']:.2f} | "
            f"{r['ratio']:.2f} | {r['ours_gflops']:.0f} | {pct(r['ours_peak'])} | "
            f"{r['peer_gflops']:.0f} | {pct(r['peer_peak'])} | {_cell(r['ours_mib'])} | "
            f"{_cell(r['peer_mib'])} | {100 * r['spread']:.0f}% | {r['load']:.2f} | "
            f"{pct(r['busy'])} |")
    s = report["summary"]
    lines += ["", f"ratio = {peer} time / ours (> 1: ours faster); GFLOP/s of the direct "
              f"algorithm's multiply-adds (pooling: window taps); % peak: of the measured SGEMM "
              f"peak above; MiB: {report.get('memory', MEMORY)}.  A max pooling's backward is "
              f"that of a training step: each side routes the indices its forward saved.",
              "",
              f"- geometric mean, forward (convolutions and pooling): "
              f"{_cell(s['forward_geomean'], 2)}",
              f"- geometric mean, forward + backward (per-layer sums): "
              f"{_cell(s['step_geomean'], 2)}",
              f"- geometric mean, every row: {_cell(s['all_geomean'], 2)}",
              f"- lowest: {s['lowest']['ratio']:.2f} ({s['lowest']['layer']}, "
              f"{s['lowest']['op']})"]
    return "\n".join(lines) + "\n"


def selected(suite: Suite, only: str | None) -> list[Case]:
    """The cases of ``suite`` whose layer contains ``only`` (all when None); a ValueError
    naming the layers when none does."""
    cases = [c for c in suite.cases if only is None or only in c.layer]
    if not cases:
        layers = ", ".join(dict.fromkeys(c.layer for c in suite.cases))
        raise ValueError(f"only={only!r} matches no layer of the {suite.name} suite: {layers}")
    return cases


def run_suite(suite: Suite, repeats: int, only: str | None, command: str,
              progress: Callable[[str], None]) -> dict[str, Any]:
    """Measure every case of ``suite`` (those whose layer contains ``only``: at least one)."""
    cases = selected(suite, only)
    steady_allocator()
    wait_for_quiet(progress)
    peak = suite.peak_gflops()
    rng = np.random.default_rng(20261123)
    rows = []
    for count, case in enumerate(cases, start=1):
        row = measure(case, repeats, peak, rng, progress)
        progress(f"[{count:2d}/{len(cases)}] {case.layer:24s} {case.op:16s} ours "
                 f"{row.ours_ms:8.2f} ms  {suite.peer} {row.peer_ms:8.2f} ms  "
                 f"ratio {row.ratio:5.2f}  load {row.load:.2f}  others {pct(row.busy)}")
        rows.append(row)
    progress("peak memory of every case ...")
    for case, row in zip(cases, rows):
        measure_memory(case, row, rng, suite.forget, suite.peak_mib)
    return {"suite": suite.name, "peer": suite.peer, "command": command,
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.system()} {platform.machine()}, {_cpu_name()}",
            "setting": suite.setting(), "peak_gflops": peak, "repeats": repeats,
            "memory": suite.memory,
            "rows": [asdict(r) for r in rows], "summary": summarize(rows)}


def _parser() -> argparse.ArgumentParser:
    from .cli import positive, writable_file

    parser = argparse.ArgumentParser(prog="convproof bench",
                                     description=__doc__.split("\n")[0].replace("``", ""))
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cpu", action="store_true", help="the NumPy suite (default)")
    where.add_argument("--gpu", action="store_true", help="the suites of convproof.gpu")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--quick", action="store_true", help="a tiny suite (a smoke test)")
    parser.add_argument("--repeats", type=positive, default=None,
                        help="timed calls per side (default 7; 3 with --quick)")
    parser.add_argument("--only", default=None, help="only layers whose name contains this")
    parser.add_argument("--output", type=writable_file, default=None,
                        help="also write the result to this file")
    return parser


def main(argv: list[str] | None = None,
         factories: Sequence[Callable[[bool], Suite]] | None = None) -> int:
    """Run the benchmark; 0 on success, 2 when the suite cannot run here (no GPU, no PyTorch).

    ``factories`` replaces the suites the flags select (a test runs a tiny suite this way).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    command = rerun_command(["convproof", "bench", *argv])
    if factories is None:
        factories = [cpu_suite]
        if args.gpu:
            reason = gpu_unavailable()
            if reason:
                print(f"convproof bench --gpu: no GPU available: {reason}", file=sys.stderr)
                return 2
            factories = list(_GPU_SUITES)
        elif importlib.util.find_spec("torch") is None:
            print(f"convproof bench --cpu: {NO_PEER}", file=sys.stderr)
            return 2
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    suites = [factory(args.quick) for factory in factories]
    for suite in suites:  # every --only checked before anything runs
        try:
            selected(suite, args.only)
        except ValueError as exc:
            _parser().error(str(exc))
    hint = (blas_hint(_cpu_flags(), cpu_threads.blas(), os.environ.get("OPENBLAS_CORETYPE"))
            if cpu_suite in factories else None)
    if hint:
        to_stderr(hint)
    reports = [run_suite(suite, repeats, args.only, command, to_stderr) for suite in suites]
    text = (json.dumps(reports, indent=2) if args.json
            else "\n".join(markdown(report) for report in reports))
    print(text, end="" if text.endswith("\n") else "\n")
    if args.output:
        with open(args.output, "w") as out:
            out.write(text)
    return 0


__all__ = ["BLAS_ENVIRONMENT", "CPU_LAYERS", "Case", "ConvLayer", "PoolLayer", "QUICK_LAYERS",
           "Row", "Suite", "blas_hint", "blas_threads", "conv_layer", "cpu_suite",
           "geometric_mean", "gpu_unavailable", "main", "markdown", "measure", "measure_memory",
           "peak_memory_mib", "register_gpu_suite", "rerun_command", "run_suite", "selected",
           "sgemm_peak", "summarize", "time_pair"]
