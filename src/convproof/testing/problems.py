"""The problem sizes a check runs on, chosen so that the known faults show.

Two fixed problems per check, then four drawn from the seed.  The first has C_in = C_out (per
group 2 and 2) and a square kernel, so that a swapped channel axis or a transposed kernel keeps
every shape and shows in the values; the second has C_in != C_out and a kernel of unequal sides.
Every spatial axis gets its own output size (an axis mix-up changes the shape), and where the
stride is larger than one the input leaves s - 1 rows unused at the end in the first problem
(floor and ceil of the output size differ, and one more row of padding at the end adds an
output) and none in the second (one row less removes an output).  A pooling with ceil_mode
takes, where the window allows it, a size for the second problem at which PyTorch drops a last
window that would start in the right padding.

The drawn problems are what the small fixed ones cannot show: 4 or 5 channels per group in and
1 out (a loop that reads only the first channels, a squeezed singleton axis), then 1 in and 4
or 5 out; more than 4 outputs per axis (tiles beyond the first); a square input of odd or even
size and a long last axis of the other parity (a fast path for square or even sizes); then a
wide problem, 16 or 17 outputs on the last axis and 2 on the others, with a kernel of 5 or 6
per axis (where none is given) and 3 input channels and 2 output channels (an RGB stem; with
groups, one channel in and out per group: a depthwise convolution), and a problem of 8 or 9
channels per group in and out (a channel block of 8 SIMD lanes and its remainder) with the
second fixed problem's kernel and outputs.  Output counts are lower bounds: the smallest
input with that many outputs, then the next of the drawn parity on the last axis, which can
add one output (with stride 1 it always does), and no input shorter than the kernel's span.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spec import ConvSpec, PoolSpec, check_padding_fits, per_dim
from ..symbolic.matrices import CERTIFY_TERMS, multiply_adds
from .models import Model

PER_GROUP = ((2, 2), (2, 3))            # (C_in/groups, C_out/groups) of the two problems
KERNELS = ((3, 3, 3), (3, 2, 2))        # default kernel per axis of the two problems
TARGETS = {1: ((5,), (4,)), 2: ((3, 4), (4, 3)), 3: ((2, 3, 4), (3, 2, 2))}  # outputs per axis
UNUSED = ("most", "none")               # unused input rows at the end of the two problems
LARGEST = 96                            # the largest input size searched per axis
DRAWN_CHANNELS = (4, 6)                 # [low, high) of the drawn problems' many channels
DRAWN_OUTPUTS = {1: (6, 10), 2: (5, 8), 3: (5, 6)}  # [low, high) of their outputs per long axis
WIDE = (16, 18)                         # [low, high) of the wide problem's last-axis outputs
WIDE_KERNELS = (5, 7)                   # [low, high) of its kernel per axis, where none is given
RGB = (3, 2)                            # its channels per group without groups (C_in, C_out)
BLOCK = (8, 10)                         # [low, high) of the block problem's channels per group


def _axis_spec(spec: ConvSpec, axis: int) -> ConvSpec:
    """The 1-D spec of one axis of ``spec``."""
    padding = spec.padding if isinstance(spec.padding, str) else (spec.padding[axis],)
    return ConvSpec(1, 1, (spec.kernel_size[axis],), stride=spec.stride[axis], padding=padding,
                    dilation=spec.dilation[axis], padding_mode=spec.padding_mode,
                    output_padding=spec.output_padding[axis])


def _largest_span(spec: ConvSpec | PoolSpec, axis: int) -> int:
    """d(k - 1) + 1 on ``axis`` for the longest side k of the kernel: an input at least this
    long holds the kernel unpadded and in any axis order, so a fault that drops the padding or
    transposes the kernel still gives an output to diagnose."""
    return spec.dilation[axis] * (max(spec.kernel_size) - 1) + 1


Measure = Callable[[int, int], "tuple[int, int, bool] | None"]


def _window(spec: ConvSpec | PoolSpec) -> str:
    return (f"kernel_size={spec.kernel_size} with stride={spec.stride}, padding={spec.padding} "
            f"and dilation={spec.dilation}")


def _choose(spec: ConvSpec | PoolSpec, targets: tuple[int, ...], measure: Measure
            ) -> tuple[int, ...]:
    """Per axis the smallest size n for which measure(axis, n) = (count, output, preferred)
    has count >= the axis's target, with an n and an output no earlier axis has; a preferred
    size when there is one below LARGEST.  measure returns None for an invalid size; a
    ValueError names ``spec``'s window when no size fits."""
    sizes: list[int] = []
    outputs: list[int] = []
    for axis, target in enumerate(targets):
        found = []
        for n in range(1, LARGEST):
            measured = measure(axis, n)
            if measured is None or measured[0] < target or n in sizes or measured[1] in outputs:
                continue
            found.append((n, measured[1], measured[2]))
            if measured[2]:
                break
        if not found:
            raise ValueError(
                f"{_window(spec)} needs larger inputs than the checks use: no input size "
                f"below {LARGEST} gives {target} outputs on axis {axis}")
        n, output, _ = next((choice for choice in found if choice[2]), found[0])
        sizes.append(n)
        outputs.append(output)
    return tuple(sizes)


@dataclass(frozen=True)
class Drawn:
    """A problem drawn from the seed: channels per group (in, out), at least ``targets``
    outputs per axis, an input size of ``parity`` on the last axis, one size on every axis
    when ``square`` (of ``parity`` too), and the ``kernel`` used where none is given."""

    per_group: tuple[int, int]
    targets: tuple[int, ...]
    parity: int
    square: bool
    kernel: tuple[int, ...]


def draw_problems(dims: int, rng: np.random.Generator, groups: int = 1) -> tuple[Drawn, ...]:
    """The four drawn problems: many channels in and one out on a square input; one in and
    many out on a long last axis of the other parity (the other axes as the second fixed
    problem's); the wide one (depthwise where ``groups`` > 1); the channel block."""
    many = [int(n) for n in rng.integers(*DRAWN_CHANNELS, size=2)]
    long = [int(n) for n in rng.integers(*DRAWN_OUTPUTS[dims], size=2)]
    parity, wide_parity, block_parity = (int(n) for n in rng.integers(2, size=3))
    wide, kernel, block = (int(rng.integers(*bounds)) for bounds in (WIDE, WIDE_KERNELS, BLOCK))
    return (Drawn((many[0], 1), (long[0],) * dims, parity, True, KERNELS[0][:dims]),
            Drawn((1, many[1]), (*TARGETS[dims][1][:-1], long[1]), 1 - parity, False,
                  KERNELS[1][:dims]),
            Drawn((1, 1) if groups > 1 else RGB, (2,) * (dims - 1) + (wide,), wide_parity,
                  False, (kernel,) * dims),
            Drawn((block, block), TARGETS[dims][1], block_parity, False, KERNELS[1][:dims]))


Targets = tuple[int, ...] | Drawn


def _drawn_size(spec: ConvSpec | PoolSpec, drawn: Drawn, measure: Measure) -> tuple[int, ...]:
    """Per axis (for all axes at once when square) the smallest input size n with at least the
    targets' outputs, of the drawn parity on the last axis where one is below LARGEST; the
    largest valid size below LARGEST when none has that many outputs (a very large kernel)."""
    def fits(axes: tuple[int, ...], n: int, least: bool = True) -> bool:
        return all((measured := measure(axis, n)) is not None
                   and (not least or measured[0] >= drawn.targets[axis]) for axis in axes)
    groups = [tuple(range(spec.dims))] if drawn.square else [(axis,) for axis in range(spec.dims)]
    sizes: list[int] = []
    for axes in groups:
        last = axes[-1] == spec.dims - 1
        fitting = (n for n in range(1, LARGEST) if fits(axes, n))
        first = next(fitting, None)
        chosen = (first if first is None or not last or first % 2 == drawn.parity
                  else next((n for n in fitting if n % 2 == drawn.parity), first))
        if chosen is None:
            chosen = next((n for n in range(LARGEST - 1, 0, -1) if fits(axes, n, least=False)),
                          None)
        if chosen is None:
            raise ValueError(f"{_window(spec)} needs larger inputs than the checks use: no input "
                             f"size below {LARGEST} gives {drawn.targets[axes[0]]} outputs on "
                             f"axis {axes[0]}")
        sizes += [chosen] * len(axes)
    return tuple(sizes)


def _sized(spec: ConvSpec | PoolSpec, targets: Targets, measure: Measure) -> tuple[int, ...]:
    if isinstance(targets, Drawn):
        return _drawn_size(spec, targets, measure)
    return _choose(spec, targets, measure)


def forward_size(spec: ConvSpec, targets: Targets, unused: str) -> tuple[int, ...]:
    """Input sizes with at least ``targets`` outputs that leave, where s > 1, ``unused`` =
    "most" (s - 1: one more row of padding at the end adds an output, floor and ceil differ)
    or "none" (one row less of padding at the end removes one) input rows unused; a drawn
    problem's sizes take the smallest that fit."""
    lines = [_axis_spec(spec, axis) for axis in range(spec.dims)]

    def measure(axis: int, n: int) -> tuple[int, int, bool] | None:
        line = lines[axis]
        if n < _largest_span(spec, axis):
            return None
        try:
            (out,), (left,) = line.output_size((n,)), line.unused((n,))
        except ValueError:
            return None
        return out, out, left == (line.stride[0] - 1 if unused == "most" else 0)
    return _sized(spec, targets, measure)


def transposed_size(spec: ConvSpec, targets: Targets) -> tuple[int, ...]:
    """Input sizes m >= ``targets`` of a valid transposed convolution."""
    lines = [_axis_spec(spec, axis) for axis in range(spec.dims)]

    def measure(axis: int, m: int) -> tuple[int, int, bool] | None:
        line = lines[axis]
        try:
            (out,) = line.transposed_output_size((m,))
            check_padding_fits(line.padding_mode, line.transposed_pads(), (out,))
        except ValueError:
            return None
        return m, out, True
    return _sized(spec, targets, measure)


Plan = tuple[tuple[int, int], tuple[int, ...], Targets, str]


def _plan(dims: int, drawn: Sequence[Drawn]) -> list[Plan]:
    """(channels per group, default kernel, targets, unused rows) of the fixed problems, or of
    ``drawn``."""
    if drawn:
        return [(problem.per_group, problem.kernel, problem, "none") for problem in drawn]
    return list(zip(PER_GROUP, (kernel[:dims] for kernel in KERNELS), TARGETS[dims], UNUSED))


def _specs(dims: int, options: dict[str, Any], kernel_size: Any, drawn: Sequence[Drawn]
           ) -> list[tuple[ConvSpec, Targets, str]]:
    """The problems' specs (the given kernel_size, else each problem's default kernel); a bad
    option raises here, naming the option and its value."""
    plan = _plan(dims, drawn)
    given = None if kernel_size is None else per_dim("kernel_size", kernel_size, dims, 1)
    groups = options.get("groups", 1)
    groups = ConvSpec(groups, groups, given or plan[0][1], **options).groups  # validates options
    return [(ConvSpec(per_in * groups, per_out * groups, given or kernel, **options), targets,
             unused) for (per_in, per_out), kernel, targets, unused in plan]


def derivable(models: Sequence[Model]) -> None:
    """The derived matrices of fixed problems hold at most CERTIFY_TERMS symbolic terms (a
    padding of 100 gives each axis 200 outputs); a ValueError names the window, before any
    call of the function under check."""
    for model in models:
        spec = model.spec
        positions = model.size if model.kind == "conv_transpose" else spec.output_size(model.size)
        terms = multiply_adds(spec, positions)
        if terms > CERTIFY_TERMS:
            raise ValueError(
                f"{_window(spec)} makes the {model.role} of a check's fixed problem "
                f"{terms:,} multiply-adds, more than CERTIFY_TERMS = {CERTIFY_TERMS:,}: the "
                "check compares it with the derived matrix, every term symbolic; check such a "
                "layer against convproof.reference or torch directly")


def conv_models(dims: int, options: dict[str, Any], kernel_size: Any, bias: bool,
                drawn: Sequence[Drawn] = ()) -> list[Model]:
    """The forward convolution on each fixed problem, or on each ``drawn`` one (padding as
    explicit (lo, hi) pairs)."""
    models = []
    for spec, targets, unused in _specs(dims, options, kernel_size, drawn):
        size = forward_size(spec, targets, unused)
        models.append(Model("conv", "forward", spec.replace(padding=spec.pads(size)), size, bias))
    derivable(() if drawn else models)
    return models


def transposed_models(dims: int, options: dict[str, Any], kernel_size: Any, bias: bool,
                      drawn: Sequence[Drawn] = ()) -> list[Model]:
    """The transposed convolution on each problem; its input has the forward's C_out channels.
    Padding the transposed convolution cannot take raises first, in the spec's words."""
    models = []
    for spec, targets, _ in _specs(dims, options, kernel_size, drawn):
        explicit = spec.replace(padding=spec.transposed_pads())
        models.append(Model("conv_transpose", "transposed", explicit,
                            transposed_size(spec, targets), bias))
    derivable(() if drawn else models)
    return models


def gradient_models(dims: int, options: dict[str, Any], kernel_size: Any,
                    drawn: Sequence[Drawn] = ()) -> list[tuple[Model, Model]]:
    """(input gradient, weight gradient) of the forward convolution on each problem.

    The input gradient is the transposed convolution of grad_y with the output_padding that
    gives back the forward input size n: (n + p_lo + p_hi - d(k - 1) - 1) mod s.
    """
    models = []
    for spec, targets, unused in _specs(dims, options, kernel_size, drawn):
        size = forward_size(spec, targets, unused)
        explicit = spec.replace(padding=spec.pads(size))
        backward = explicit.replace(output_padding=spec.unused(size))
        models.append((Model("conv_transpose", "input gradient", backward,
                             tuple(spec.output_size(size))),
                       Model("weight_grad", "weight gradient", explicit, size)))
    derivable(() if drawn else [model for pair in models for model in pair])
    return models


def pool_size(spec: PoolSpec, targets: Targets, last_window: bool = False) -> tuple[int, ...]:
    """Input sizes with at least ``targets`` outputs, where floor and ceil_mode differ when
    the stride allows it; with ``last_window`` and ceil_mode, where the window allows it, sizes
    at which a last window would start in the right padding and is dropped (PyTorch's rule:
    the output then rounds down although ceil_mode is set)."""
    lines = [[PoolSpec((spec.kernel_size[axis],), spec.stride[axis], spec.padding[axis],
                       spec.dilation[axis], ceil_mode=mode) for mode in (False, True)]
             for axis in range(spec.dims)]

    def dropped(axis: int, n: int) -> bool:
        """Whether ceil_mode drops the last window of an input of n on ``axis``."""
        k, s, p, d = (value[axis] for value in (spec.kernel_size, spec.stride, spec.padding,
                                                 spec.dilation))
        return -(-(n + 2 * p - d * (k - 1) - 1) // s) * s >= n + p

    rule = [last_window and spec.ceil_mode
            and any(dropped(axis, n) for n in range(_largest_span(spec, axis), LARGEST))
            for axis in range(spec.dims)]

    def measure(axis: int, n: int) -> tuple[int, int, bool] | None:
        if n < _largest_span(spec, axis):
            return None
        try:
            floor, ceil = (line.output_size((n,))[0] for line in lines[axis])
        except ValueError:
            return None
        out = ceil if spec.ceil_mode else floor
        if rule[axis]:
            return min(floor, ceil), out, dropped(axis, n)
        return min(floor, ceil), out, floor != ceil or spec.stride[axis] == 1
    return _sized(spec, targets, measure)
