"""The problem sizes a check runs on, chosen so that the known faults show.

Two fixed problems per check, then two drawn from the seed.  The first has C_in = C_out (per
group 2 and 2) and a square kernel, so that a swapped channel axis or a transposed kernel keeps
every shape and shows in the values; the second has C_in != C_out and a kernel of unequal sides.
Every spatial axis gets its own output size (an axis mix-up changes the shape), and where the
stride is larger than one the input leaves s - 1 rows unused at the end in the first problem
(floor and ceil of the output size differ, and one more row of padding at the end adds an
output) and none in the second (one row less removes an output).

The drawn problems are what the small fixed ones cannot show: 4 or 5 channels per group in and
1 out (a loop that reads only the first channels, a squeezed singleton axis), then 1 in and 4
or 5 out; more than 4 outputs per axis (tiles beyond the first); a square input of odd or even
size and a long last axis of the other parity (a fast path for square or even sizes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spec import ConvSpec, PoolSpec, check_padding_fits, per_dim
from .models import Model

PER_GROUP = ((2, 2), (2, 3))            # (C_in/groups, C_out/groups) of the two problems
KERNELS = ((3, 3, 3), (3, 2, 2))        # default kernel per axis of the two problems
TARGETS = {1: ((5,), (4,)), 2: ((3, 4), (4, 3)), 3: ((2, 3, 4), (3, 2, 2))}  # outputs per axis
UNUSED = ("most", "none")               # unused input rows at the end of the two problems
LARGEST = 96                            # the largest input size searched per axis
DRAWN_CHANNELS = (4, 6)                 # [low, high) of the drawn problems' many channels
DRAWN_OUTPUTS = {1: (6, 10), 2: (5, 8), 3: (5, 6)}  # [low, high) of their outputs per long axis


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
    outputs per axis, an input size of ``parity`` on the last axis, and one size on every axis
    when ``square`` (of ``parity`` too)."""

    per_group: tuple[int, int]
    targets: tuple[int, ...]
    parity: int
    square: bool


def draw_problems(dims: int, rng: np.random.Generator) -> tuple[Drawn, Drawn]:
    """The two drawn problems: many channels in and one out on a square input, then one in
    and many out on a long last axis of the other parity (the other axes as the second fixed
    problem's)."""
    many = [int(n) for n in rng.integers(*DRAWN_CHANNELS, size=2)]
    long = [int(n) for n in rng.integers(*DRAWN_OUTPUTS[dims], size=2)]
    parity = int(rng.integers(2))
    return (Drawn((many[0], 1), (long[0],) * dims, parity, True),
            Drawn((1, many[1]), (*TARGETS[dims][1][:-1], long[1]), 1 - parity, False))


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
        found = ([n for n in range(1, LARGEST) if fits(axes, n)]
                 or [n for n in range(LARGEST - 1, 0, -1) if fits(axes, n, least=False)][:1])
        if not found:
            raise ValueError(f"{_window(spec)} needs larger inputs than the checks use: no input "
                             f"size below {LARGEST} gives {drawn.targets[axes[0]]} outputs on "
                             f"axis {axes[0]}")
        last = axes[-1] == spec.dims - 1
        sizes += [next((n for n in found if not last or n % 2 == drawn.parity), found[0])] * len(
            axes)
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


def _plan(dims: int, drawn: Sequence[Drawn]) -> list[tuple[tuple[int, int], Targets, str]]:
    """(channels per group, targets, unused rows) of the fixed problems, or of ``drawn``."""
    if drawn:
        return [(problem.per_group, problem, "none") for problem in drawn]
    return list(zip(PER_GROUP, TARGETS[dims], UNUSED))


def conv_specs(dims: int, options: dict[str, Any], kernel_size: Any,
               per_group: Sequence[tuple[int, int]] = PER_GROUP) -> list[ConvSpec]:
    """The problems' specs; a bad option raises here, naming the option and its value."""
    if kernel_size is None:
        kernels = [KERNELS[i % len(KERNELS)][:dims] for i in range(len(per_group))]
    else:
        kernels = [per_dim("kernel_size", kernel_size, dims, 1)] * len(per_group)
    groups = options.get("groups", 1)
    groups = ConvSpec(groups, groups, kernels[0], **options).groups  # validates every option
    return [ConvSpec(per_in * groups, per_out * groups, kernel, **options)
            for (per_in, per_out), kernel in zip(per_group, kernels)]


def _specs(dims: int, options: dict[str, Any], kernel_size: Any, drawn: Sequence[Drawn]
           ) -> list[tuple[ConvSpec, Targets, str]]:
    plan = _plan(dims, drawn)
    specs = conv_specs(dims, options, kernel_size, [per_group for per_group, _, _ in plan])
    return [(spec, targets, unused) for spec, (_, targets, unused) in zip(specs, plan)]


def conv_models(dims: int, options: dict[str, Any], kernel_size: Any, bias: bool,
                drawn: Sequence[Drawn] = ()) -> list[Model]:
    """The forward convolution on each fixed problem, or on each ``drawn`` one (padding as
    explicit (lo, hi) pairs)."""
    models = []
    for spec, targets, unused in _specs(dims, options, kernel_size, drawn):
        size = forward_size(spec, targets, unused)
        models.append(Model("conv", "forward", spec.replace(padding=spec.pads(size)), size, bias))
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
    return models


def pool_size(spec: PoolSpec, targets: Targets) -> tuple[int, ...]:
    """Input sizes with at least ``targets`` outputs, where floor and ceil_mode differ when
    the stride allows it."""
    lines = [[PoolSpec((spec.kernel_size[axis],), spec.stride[axis], spec.padding[axis],
                       spec.dilation[axis], ceil_mode=mode) for mode in (False, True)]
             for axis in range(spec.dims)]

    def measure(axis: int, n: int) -> tuple[int, int, bool] | None:
        if n < _largest_span(spec, axis):
            return None
        try:
            floor, ceil = (line.output_size((n,))[0] for line in lines[axis])
        except ValueError:
            return None
        out = ceil if spec.ceil_mode else floor
        return min(floor, ceil), out, floor != ceil or spec.stride[axis] == 1
    return _sized(spec, targets, measure)
