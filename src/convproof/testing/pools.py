"""Checks of max and average pooling, ``fn(x) -> y``, against the float64 reference.

Per axis, output i of a window of size k, stride s, padding p and dilation d reads the input
positions s·i - p + d·m (m < k) that lie in [0, n):

    max pooling      y[n, c, i] = max over those positions of x[n, c, ·]   (padding is -inf)
    average pooling  y[n, c, i] = (Σ over those positions of x[n, c, ·]) / D_i

with D_i the product over axes of |[s·i - p, s·i - p + k) ∩ [-p, n + p)| (count_include_pad)
or of the number of positions inside.  Pooling is not linear, so the probes raise one pixel
above a negative background (:func:`.probe.raised_pixels`) and the faults are matched on the
outputs; a known fault is a change of the window (padding, stride, dilation, kernel axes, floor
or ceil) or of what is reduced (zeros in the padding, the divisor).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..progress import to_stderr
from .. import reference
from ..spec import PoolSpec, per_dim
from .derived import element, sum_text
from .compare import mismatches
from .diagnose import BATCH_DEPENDENT, explain_values, match, probe_trouble, shape_difference
from .faults import axes_text, axis_groups, changed_on, per_axis_text
from .interop import Caller
from .models import Fault, Variant
from .outcome import CheckResult
from .probe import EXTRA, raised_pixels
from .problems import TARGETS, Drawn, draw_problems, pool_size
from .runner import Arrays, cast, flag, operation_name, run

CHANNELS = (2, 3)  # channels of the two fixed problems


@dataclass(frozen=True)
class PoolModel(Variant):
    """A pooling on inputs (N, channels, *size); ``zero_fill``: max pooling that pads with zeros
    instead of -inf; ``window_sum``: average pooling that forgets to divide."""

    reduce: str
    spec: PoolSpec
    size: tuple[int, ...]
    channels: int
    count_include_pad: bool = True
    zero_fill: bool = False
    window_sum: bool = False
    faults: tuple[Fault, ...] = field(default=(), compare=False)

    def output_shape(self, batch: int) -> tuple[int, ...]:
        return (batch, self.channels, *self.spec.output_size(self.size))

    def predict(self, args: tuple[np.ndarray, ...], exact: bool = True) -> np.ndarray:
        """The pooling of args[0] by the reference (which is exact for pooling)."""
        (x,) = args
        spec = self.spec
        if self.reduce == "max":
            padding = spec.padding
            if self.zero_fill:
                x, padding = np.pad(x, [(0, 0)] * 2 + [(p, p) for p in padding]), 0
            return reference.max_pool(x, spec.kernel_size, spec.stride, padding, spec.dilation,
                                      spec.ceil_mode)[0]
        if self.window_sum:
            # zeros around x (enough for every window) make each window sum an average times
            # the full kernel size
            extended = np.pad(x, [(0, 0)] * 2 + [(p, p + k) for p, k in
                                                 zip(spec.padding, spec.kernel_size)])
            means = reference.avg_pool(extended, spec.kernel_size, spec.stride, 0)
            out = self.output_shape(x.shape[0])
            return means[tuple(slice(0, n) for n in out)] * math.prod(spec.kernel_size)
        return reference.avg_pool(x, spec.kernel_size, spec.stride, spec.padding, spec.ceil_mode,
                                  self.count_include_pad)

    def size_formula(self, axis: int) -> str:
        """The output size on ``axis`` as computed, 'floor((9 + 2·1 - 1·(3 - 1) - 1) / 2) + 1 =
        4'; with ceil_mode, the last window dropped where it would start in the right padding."""
        spec = self.spec
        n, k, s, p, d = (self.size[axis], spec.kernel_size[axis], spec.stride[axis],
                         spec.padding[axis], spec.dilation[axis])
        out = spec.output_size(self.size)[axis]
        text = f"(({n} + 2·{p} - {d}·({k} - 1) - 1) / {s}) + 1"
        if not spec.ceil_mode:
            return f"floor{text} = {out}"
        raw = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1
        if raw == out:
            return f"ceil{text} = {out}"
        return (f"ceil{text} = {raw}, less one as that last window would start at "
                f"{s}·{raw - 1} - {p} = {s * (raw - 1) - p} >= n = {n}, in the right padding "
                f"(ceil_mode drops it) = {out}")

    def window(self, index: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The input positions that output ``index`` = (n, c, i...) reads."""
        spec = self.spec
        axes = [[s * i - p + d * m for m in range(k) if 0 <= s * i - p + d * m < n]
                for i, n, k, s, p, d in zip(index[2:], self.size, spec.kernel_size, spec.stride,
                                            spec.padding, spec.dilation)]
        return list(itertools.product(*axes))

    def expression(self, index: tuple[int, ...]) -> str:
        """'max(x[0,0,1,2], ...)' or '(x[0,0,1,2] + ...) / D' for output ``index``."""
        terms = [element("x", (*index[:2], *position)) for position in self.window(index)]
        if self.reduce == "max":
            return f"max({', '.join(terms)})"
        spec = self.spec
        if self.count_include_pad:
            lengths = [min(s * i - p + k, n + p) - (s * i - p) for i, n, k, s, p in
                       zip(index[2:], self.size, spec.kernel_size, spec.stride, spec.padding)]
            divisor = math.prod(lengths)
        else:
            divisor = len(terms)
        return f"({sum_text(terms)}) / {divisor}"


# --------------------------------------------------------------------------------------------
# The family of pooling faults
# --------------------------------------------------------------------------------------------

def _with(model: PoolModel, name: str, message: str, **spec_changes: Any) -> PoolModel | None:
    return model.changed(Fault(name, message), spec_changes)


def pool_padding(model: PoolModel) -> Iterator[PoolModel | None]:
    """Padding ignored, or off by one (on every axis or one)."""
    p, dims = model.spec.padding, model.spec.dims
    if any(p):
        yield _with(model, "padding ignored", f"padding ignored: you pool the input without its "
                    f"padding {per_axis_text(p, range(dims))}", padding=(0,) * dims)
    for axes in axis_groups(range(dims)):
        for delta in (1, -1):
            new = changed_on(p, axes, lambda v, delta=delta: v + delta)
            if min(new) >= 0:
                yield _with(model, "padding offset", f"padding off by {delta:+d} on "
                            f"{axes_text(axes, dims)}: you pad {per_axis_text(new, axes)}, "
                            f"expected {per_axis_text(p, axes)}", padding=new)


def pool_stride(model: PoolModel) -> Iterator[PoolModel | None]:
    """Stride ignored, taken as the kernel size, or on the wrong axes."""
    spec, dims = model.spec, model.spec.dims
    s, k = spec.stride, spec.kernel_size
    for axes in axis_groups([a for a in range(dims) if s[a] > 1]):
        yield _with(model, "stride ignored", f"stride ignored on {axes_text(axes, dims)}: your "
                    f"windows step 1, expected {per_axis_text(s, axes)}",
                    stride=changed_on(s, axes, lambda v: 1))
    if s != k:
        yield _with(model, "stride", f"your windows step by the kernel size {k}, expected stride "
                    f"{s} (the kernel size is only the default)", stride=k)
    for order in sorted(set(itertools.permutations(s)) - {s}):
        yield _with(model, "stride axes", f"stride applied to the wrong axes: you use {order}, "
                    f"expected {s}", stride=order)


def pool_dilation(model: PoolModel) -> Iterator[PoolModel | None]:
    """Dilation ignored (max pooling)."""
    d, dims = model.spec.dilation, model.spec.dims
    for axes in axis_groups([a for a in range(dims) if d[a] > 1]):
        yield _with(model, "dilation ignored", f"dilation ignored on {axes_text(axes, dims)}: "
                    f"your window taps are 1 apart, expected {per_axis_text(d, axes)}",
                    dilation=changed_on(d, axes, lambda v: 1))


def pool_kernel_transposed(model: PoolModel) -> Iterator[PoolModel | None]:
    """The window's sides read in another axis order."""
    k = model.spec.kernel_size
    for order in sorted(set(itertools.permutations(k)) - {k}):
        yield _with(model, "kernel transposed", f"your window is {order}, expected {k}: its "
                    "sides are on the wrong axes", kernel_size=order)


def pool_rounding(model: PoolModel) -> Iterator[PoolModel | None]:
    """Floor instead of ceil_mode, or the other way round."""
    ceil = model.spec.ceil_mode
    rule = ("ceil_mode=True rounds up (a last window that starts inside the input or the left "
            "padding counts)" if ceil else "ceil_mode=False rounds down")
    yield _with(model, "output size", f"your output size rounds {'down' if ceil else 'up'}, "
                f"{rule}: floor or ceil of (n + 2p - d·(k - 1) - 1) / s, plus 1",
                ceil_mode=not ceil)


def pool_reduction(model: PoolModel) -> Iterator[PoolModel | None]:
    """Max: zeros in the padding; average: the other count_include_pad, or no division."""
    padded = any(model.spec.padding)
    if model.reduce == "max" and padded and not model.spec.ceil_mode:
        yield model.changed(Fault("padding value", "you pad with zeros: max pooling pads with "
                                  "-inf, so a window of negative values never returns 0"),
                            zero_fill=True)
    if model.reduce == "mean" and padded:
        flag = model.count_include_pad
        message = ("your divisor leaves out the padded positions: count_include_pad=True counts "
                   "them" if flag else "your divisor counts the padded positions: "
                   "count_include_pad=False leaves them out")
        yield model.changed(Fault("count_include_pad", message), count_include_pad=not flag)
    if model.reduce == "mean":
        yield model.changed(Fault("sum", "you return the window sums: divide each by its "
                                  "number of positions (average pooling)"), window_sum=True)


POOL_FAMILY = (pool_kernel_transposed, pool_padding, pool_stride, pool_dilation, pool_rounding,
               pool_reduction)


# --------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------

class PoolCheck:
    """fn(x) -> y of a pooling."""

    arguments = ("x",)
    outputs = ("y",)
    products = False

    def __init__(self, name: str, problems: list[PoolModel],
                 models: Callable[[Sequence[Drawn]], list[PoolModel]], dims: int) -> None:
        self.name, self.problems, self.models, self.dims = name, problems, models, dims

    def drawn(self, rng: np.random.Generator) -> list[PoolModel]:
        return self.models(draw_problems(self.dims, rng))

    def draw(self, model: PoolModel, rng: np.random.Generator, batch: int) -> Arrays:
        """Normal values; for max pooling the odd channels all negative, so that a window
        reaching into the padding tells -inf padding from zeros on every trial (and, on the
        trials that scale x by 1e6, from a large negative constant)."""
        x = rng.standard_normal((batch, model.channels, *model.size))
        if model.reduce == "max":
            x[:, 1::2] = -np.abs(x[:, 1::2])
        return (x,)

    def expected(self, model: PoolModel, args: Arrays) -> tuple[np.ndarray, ...]:
        return (model.predict(args),)

    def diagnose(self, model: PoolModel, call: Caller, rng: np.random.Generator,
                 dtype: np.dtype, tol: float, args: Arrays, got: tuple[np.ndarray, ...]) -> str:
        """Probe with one raised pixel per input position, then match the family."""
        probes = cast((raised_pixels((model.channels, *model.size), rng),), dtype)
        (y,) = call(*probes)
        trouble = probe_trouble(call, probes, (0,), y, 0, "y")
        probes = cast(probes, np.float64)
        if trouble:
            return trouble
        found = match(model, POOL_FAMILY, (probes, y), tol,
                      screen=((probes[0][-EXTRA:],), y[-EXTRA:]))
        if found in (None, BATCH_DEPENDENT):  # right on the probe's values near 0
            found = _constant_fill(model, args, got, tol) or found
        return found or explain_values(y, model.predict(probes), tol, "y", model.expression)

    def shape_difference(self, model: PoolModel, output: int, got: tuple[int, ...],
                         want: tuple[int, ...]) -> str:
        return shape_difference(got, want, "y", model.size_formula)


def _constant_fill(model: PoolModel, args: Arrays, got: tuple[np.ndarray, ...], tol: float
                   ) -> str:
    """Max pooling that pads with a finite constant c: every output it gets wrong is that one
    c, above the true maximum (a window of values all below c, which the probe's values near
    0 never make); "" otherwise."""
    (y,), want = got, model.predict(args)
    if model.reduce != "max" or not any(model.spec.padding) or y.shape != want.shape:
        return ""
    wrong = mismatches(y, want, tol)
    values = np.unique(y[wrong])
    if len(values) != 1 or not np.isfinite(values[0]) or not np.all(values[0] > want[wrong]):
        return ""
    c = f"{values[0]:g}"
    return (f"you pad with {c}: max pooling pads with -inf, so a window whose values are all "
            f"below {c} returns the largest of them, not {c}")


def _pool_models(reduce: str, dims: int, spec: PoolSpec, drawn: Sequence[Drawn] = (),
                 **flags: Any) -> list[PoolModel]:
    """The pooling on each fixed problem (the second at a size where ceil_mode drops a last
    window, where one does), or on each ``drawn`` one (its many channels)."""
    plan = ([(problem, max(problem.per_group), False) for problem in drawn] if drawn
            else list(zip(TARGETS[dims], CHANNELS, (False, True))))
    return [PoolModel(reduce, spec, pool_size(spec, targets, last_window), channels, **flags)
            for targets, channels, last_window in plan]


def _pool_check(name: str, reduce: str, dims: int, spec: PoolSpec, **flags: Any) -> PoolCheck:
    def models(drawn: Sequence[Drawn] = ()) -> list[PoolModel]:
        return _pool_models(reduce, dims, spec, drawn, **flags)
    return PoolCheck(name, models(), models, dims)


def _pool_spec(dims: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: Any) -> PoolSpec:
    return PoolSpec(per_dim("kernel_size", kernel_size, dims, 1), stride, padding, dilation,
                    ceil_mode)


def check_max_pool(fn: Callable[..., Any], dims: int, *, kernel_size: Any, stride: Any = None,
                   padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False,
                   dtype: Any = np.float64, trials: int = 3,
                   backend: str | Callable[[np.ndarray], Any] = "numpy",
                   seed: int | None = None,
                   progress: Callable[[str], None] | None = to_stderr) -> CheckResult:
    """Check ``fn(x) -> y``, a {dims}-D max pooling with PyTorch's arguments (stride defaults to
    the kernel size, implicit -inf padding at most half the kernel, floor or ceil_mode):

        y[n, c, i] = max_{m < k, 0 <= s·i - p + d·m < n} x[n, c, s·i - p + d·m]

    Returns a CheckResult; raises EquivalenceError naming the fault.
    """
    __tracebackhide__ = True
    spec = _pool_spec(dims, kernel_size, stride, padding, dilation, ceil_mode)
    options = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                   ceil_mode=ceil_mode)
    name = operation_name(f"max_pool{dims}d", options,
                          dict(stride=None, padding=0, dilation=1, ceil_mode=False))
    return run(_pool_check(name, "max", dims, spec), fn, trials=trials, dtype=dtype,
               backend=backend, seed=seed, progress=progress)


def check_avg_pool(fn: Callable[..., Any], dims: int, *, kernel_size: Any, stride: Any = None,
                   padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                   dtype: Any = np.float64, trials: int = 3,
                   backend: str | Callable[[np.ndarray], Any] = "numpy",
                   seed: int | None = None,
                   progress: Callable[[str], None] | None = to_stderr) -> CheckResult:
    """Check ``fn(x) -> y``, a {dims}-D average pooling with PyTorch's arguments:

        y[n, c, i] = (1 / D_i) Σ_{m < k, 0 <= s·i - p + m < n} x[n, c, s·i - p + m]

    D_i the window's size clipped to the padded input (count_include_pad) or its number of
    input positions.  Returns a CheckResult; raises EquivalenceError naming the fault.
    """
    __tracebackhide__ = True
    flag("count_include_pad", count_include_pad)
    spec = _pool_spec(dims, kernel_size, stride, padding, 1, ceil_mode)
    options = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                   count_include_pad=count_include_pad)
    name = operation_name(f"avg_pool{dims}d", options,
                          dict(stride=None, padding=0, ceil_mode=False, count_include_pad=True))
    check = _pool_check(name, "mean", dims, spec, count_include_pad=count_include_pad)
    return run(check, fn, trials=trials, dtype=dtype, backend=backend, seed=seed, progress=progress)
