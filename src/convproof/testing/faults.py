"""The family of known faults of convolution implementations.

Each fault is a small function: given the model of what a correct implementation computes, it
yields the models of the faulty implementations (one per variant: which axes, by how much), each
carrying a :class:`Fault` whose message says what is wrong and how to fix it.  The matrix of a
faulty model is the derived matrix of its changed spec with its changed weight substituted, so
the diagnosis compares an implementation against derivations, fault by fault.  Two faults at
once are the composition of two of these functions (:func:`pairs`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from ..spec import AXIS_NAMES, PADDING_MODES
from .models import Fault, Model

M = TypeVar("M")
FaultFunction = Callable[[M], Iterable[M | None]]


# --------------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------------

def axis_names(dims: int) -> tuple[str, ...]:
    """The names of the spatial axes in messages: L; H, W; D, H, W (axis0, ... beyond)."""
    return AXIS_NAMES.get(dims, tuple(f"axis{a}" for a in range(dims)))


def axes_text(axes: Sequence[int], dims: int) -> str:
    """'every axis', 'axis W', 'axes D and W'."""
    names = [axis_names(dims)[a] for a in axes]
    if len(axes) == dims and dims > 1:
        return "every axis"
    if len(names) == 1:
        return f"axis {names[0]}"
    return f"axes {', '.join(names[:-1])} and {names[-1]}"


def per_axis_text(values: Sequence[object], axes: Sequence[int]) -> str:
    """The values on the given axes: one value when they agree, else a tuple."""
    chosen = [values[a] for a in axes]
    return str(chosen[0]) if len(set(chosen)) == 1 else str(tuple(chosen))


def axis_groups(eligible: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """All eligible axes together, then each one alone (when there is more than one)."""
    eligible = tuple(eligible)
    if eligible:
        yield eligible
    if len(eligible) > 1:
        yield from ((a,) for a in eligible)


def changed_on(values: Sequence[int], axes: Sequence[int], new: Callable[[int], int]
                ) -> tuple[int, ...]:
    """``values`` with new(v) on the ``axes`` and the others kept."""
    return tuple(new(v) if a in axes else v for a, v in enumerate(values))


# --------------------------------------------------------------------------------------------
# The kernel
# --------------------------------------------------------------------------------------------

def _flip_message(model: Model, axes: tuple[int, ...]) -> str:
    dims = model.spec.dims
    where = "" if len(axes) == dims else f" along {axes_text(axes, dims)} only"
    slices = ", ".join("::-1" if a in axes else ":" for a in range(dims))
    flipped = f"w[..., {slices}]"
    return {
        "forward": f"your kernel is flipped{where}: you compute a true convolution, conv "
                   f"means correlation, y[i] = Σ_m w[m]·x_pad[s·i + d·m]; use {flipped} or "
                   "correlate",
        "transposed": f"your kernel is flipped{where}: the transposed convolution adds "
                      "w[c, o, m]·x[c, i] to y[o, s·i + d·m - p]; computed as a correlation of "
                      f"the upsampled input it needs the kernel flipped, {flipped}",
        "input gradient": f"the kernel is flipped the wrong way{where}: grad_x[c, s·i + d·m - p] "
                          "+= w[o, c, m]·grad_y[o, i]; as a correlation of the dilated, padded "
                          f"grad_y it needs the kernel rotated 180°, {flipped}, with its "
                          "channel axes swapped",
        "weight gradient": f"grad_w is flipped{where}: grad_w[o, c, m] = Σ_i grad_y[o, i]·"
                           "x_pad[c, s·i + d·m]; correlate x with grad_y, do not flip the result",
    }[model.role]


def kernel_flipped(model: Model) -> Iterator[Model | None]:
    """True convolution instead of correlation: tap m reads w[k - 1 - m] on the flipped axes."""
    eligible = [a for a, k in enumerate(model.spec.kernel_size) if k > 1]
    for axes in axis_groups(eligible):
        yield model.changed(Fault("kernel flipped", _flip_message(model, axes)),
                            weight_maps=model.weight_maps + (("flip", axes),))


def kernel_transposed(model: Model) -> Iterator[Model | None]:
    """The kernel's spatial axes read in another order: tap (i, j) reads w[o, c, j, i]."""
    spec, dims = model.spec, model.spec.dims
    names = axis_names(dims)
    for perm in itertools.permutations(range(dims)):
        moved = [a for a in range(dims) if perm[a] != a]
        if not moved or all(spec.kernel_size[a] == 1 for a in moved):
            continue
        slots = [""] * dims
        for a in range(dims):
            slots[perm[a]] = f"m_{names[a]}"
        taps = ", ".join(f"m_{n}" for n in names)
        if model.kind == "weight_grad":
            fault = Fault("kernel transposed", f"grad_w has its spatial axes in the order "
                          f"({', '.join(names[p] for p in perm)}); lay it out as ({taps}) like w")
            yield model.changed(fault, weight_maps=model.weight_maps + (("permute", perm),))
            continue
        fault = Fault("kernel transposed", f"your kernel is transposed: tap ({taps}) reads "
                      f"w[o, c, {', '.join(slots)}]; index it as w[o, c, {taps}]")
        yield model.changed(fault, {"kernel_size": tuple(spec.kernel_size[p] for p in perm)},
                            weight_maps=model.weight_maps + (("permute", perm),))


# --------------------------------------------------------------------------------------------
# Padding
# --------------------------------------------------------------------------------------------

def _pads_text(pads: Sequence[tuple[int, int]], axes: Sequence[int]) -> str:
    return per_axis_text(tuple(tuple(p) for p in pads), axes)


def _side_text(side: str, delta: int) -> str:
    """How the padding is off: 'off by +1 at the start of', 'shifted by 1 toward the end on'."""
    if side == "shift":
        return f"shifted by {abs(delta)} toward the {'start' if delta > 0 else 'end'} on"
    where = {"start": "at the start of", "end": "at the end of", "both": "on both sides of"}
    return f"off by {delta:+d} {where[side]}"


_SIDES = {"start": (1, 0), "end": (0, 1), "both": (1, 1), "shift": (1, -1)}  # (lo, hi) per delta


def padding_offset(model: Model) -> Iterator[Model | None]:
    """Padding off by delta at the start, at the end, on both sides, or shifted; or ignored."""
    pads, dims = model.spec.padding, model.spec.dims
    every = tuple(range(dims))
    if any(lo or hi for lo, hi in pads):
        message = (f"padding ignored: you pad nothing, expected {_pads_text(pads, every)} "
                   f"(lo, hi) on {axes_text(every, dims)}")
        yield model.changed(Fault("padding ignored", message), {"padding": ((0, 0),) * dims})
    for axes in axis_groups(every):
        for side, (d_lo, d_hi) in _SIDES.items():
            for delta in (1, -1, 2, -2):
                new = tuple((lo + delta * d_lo, hi + delta * d_hi) if a in axes else (lo, hi)
                            for a, (lo, hi) in enumerate(pads))
                if any(v < 0 for pair in new for v in pair):
                    continue
                message = (f"padding {_side_text(side, delta)} {axes_text(axes, dims)}: you pad "
                           f"{_pads_text(new, axes)}, expected {_pads_text(pads, axes)} (lo, hi)")
                yield model.changed(Fault("padding offset", message), {"padding": new})


_MODE_TEXT = {
    "zeros": "zeros", "reflect": "the mirror image without the edge pixel (reflect)",
    "replicate": "copies of the edge pixel (replicate)",
    "circular": "the pixels of the opposite edge (circular)",
}


def padding_mode_wrong(model: Model) -> Iterator[Model | None]:
    """Another padding mode than the one asked for."""
    mode = model.spec.padding_mode
    if not any(lo or hi for lo, hi in model.spec.padding):
        return
    for other in PADDING_MODES:
        if other != mode:
            message = (f"you pad with {_MODE_TEXT[other]}, but padding_mode={mode!r} pads with "
                       f"{_MODE_TEXT[mode]}")
            yield model.changed(Fault("padding mode", message), {"padding_mode": other})


# --------------------------------------------------------------------------------------------
# Stride and dilation
# --------------------------------------------------------------------------------------------

def _geometry(model: Model, stride: tuple[int, ...], dilation: tuple[int, ...]) -> dict:
    """Spec changes for a new stride and dilation; a transposed conv's output_padding is kept
    below max(s, d) as the spec requires."""
    changes: dict = {"stride": stride, "dilation": dilation}
    if model.kind == "conv_transpose":
        changes["output_padding"] = tuple(min(a, max(s, d) - 1) for a, s, d in
                                          zip(model.spec.output_padding, stride, dilation))
    return changes


def _orders(values: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """The other orders of per-axis values (applied to the wrong axes)."""
    yield from sorted(set(itertools.permutations(values)) - {values})


def stride_misapplied(model: Model) -> Iterator[Model | None]:
    """Stride ignored (everywhere, on one axis, or only in the index), on the wrong axes,
    or swapped with the dilation."""
    spec, dims = model.spec, model.spec.dims
    s, d = spec.stride, spec.dilation
    for axes in axis_groups([a for a in range(dims) if s[a] > 1]):
        one = changed_on(s, axes, lambda v: 1)
        message = (f"stride ignored on {axes_text(axes, dims)}: you step 1, expected "
                   f"{per_axis_text(s, axes)} (x_pad[s·i + d·m])")
        yield model.changed(Fault("stride ignored", message), _geometry(model, one, d))
        if model.kind == "conv" and len(axes) == len([v for v in s if v > 1]):
            message = (f"stride ignored in the index: your output has the right size, but y[i] "
                       f"reads x_pad[i + d·m] instead of x_pad[s·i + d·m] (stride "
                       f"{per_axis_text(s, axes)} on {axes_text(axes, dims)})")
            yield model.changed(Fault("stride ignored", message), _geometry(model, one, d),
                                keep=model.spatial_out())
    for order in _orders(s):
        message = f"stride applied to the wrong axes: you use {order}, expected {s}"
        yield model.changed(Fault("stride axes", message), _geometry(model, order, d))
    if s != d:
        message = f"stride and dilation swapped: you step {d} and space taps {s}"
        yield model.changed(Fault("stride and dilation swapped", message),
                            _geometry(model, d, s))


def dilation_misapplied(model: Model) -> Iterator[Model | None]:
    """Dilation ignored (everywhere or on one axis), on the wrong axes, or off by one."""
    spec, dims = model.spec, model.spec.dims
    s, d = spec.stride, spec.dilation
    for axes in axis_groups([a for a in range(dims) if d[a] > 1]):
        message = (f"dilation ignored on {axes_text(axes, dims)}: your taps are 1 apart, "
                   f"expected {per_axis_text(d, axes)} (x_pad[s·i + d·m])")
        yield model.changed(Fault("dilation ignored", message),
                            _geometry(model, s, changed_on(d, axes, lambda v: 1)))
    for order in _orders(d):
        message = f"dilation applied to the wrong axes: you use {order}, expected {d}"
        yield model.changed(Fault("dilation axes", message), _geometry(model, s, order))
    every = tuple(range(dims))
    for delta in (1, -1):
        new = tuple(max(1, v + delta) for v in d)
        if new != d:
            message = (f"dilation off by {delta:+d}: your taps are {per_axis_text(new, every)} "
                       f"apart, expected {per_axis_text(d, every)} (x_pad[s·i + d·m])")
            yield model.changed(Fault("dilation off by one", message), _geometry(model, s, new))


# --------------------------------------------------------------------------------------------
# Channels and groups
# --------------------------------------------------------------------------------------------

_CHANNEL_TEXT = {
    "forward": "your weight is read as (C_in, C_out/groups, ...), the layout of a transposed "
               "convolution: a conv weight is (C_out, C_in/groups, ...), w[o, c] takes input "
               "channel c to output channel o",
    "transposed": "your weight is read as (C_out, C_in/groups, ...), the layout of a conv: a "
                  "transposed conv weight is (C_in, C_out/groups, ...), w[c, o] takes input "
                  "channel c to output channel o",
    "input gradient": "the channel axes of the weight are the wrong way round: grad_x[c] = "
                      "Σ_o w[o, c] ⋆ grad_y[o] runs over the weight's first axis; computed as a "
                      "correlation it needs w.swapaxes(0, 1) (group by group) as well as the "
                      "spatial flip",
    "weight gradient": "grad_w has its channel axes swapped: lay it out as (C_out, C_in/groups, "
                       "...), grad_w[o, c] = Σ_i grad_y[o, i]·x_pad[c, ...]",
}


def channel_order(model: Model) -> Iterator[Model | None]:
    """The weight's two channel axes swapped (group by group); visible when C_in = C_out."""
    groups = model.spec.groups
    per_in, per_out = model.spec.in_channels // groups, model.spec.out_channels // groups
    if per_in == per_out > 1:
        yield model.changed(Fault("channel order", _CHANNEL_TEXT[model.role]),
                            weight_maps=model.weight_maps + (("swap", (groups,)),))


def _block_reversed(channels: int, groups: int) -> tuple[int, ...]:
    size = channels // groups
    return tuple((groups - 1 - g) * size + c for g in range(groups) for c in range(size))


def _interleaved(channels: int, groups: int) -> tuple[int, ...]:
    """Channel c of group g taken from g + c·G (every G-th channel)."""
    size = channels // groups
    return tuple(c * groups + g for g in range(groups) for c in range(size))


def group_order(model: Model) -> Iterator[Model | None]:
    """Groups mapped to the wrong channel blocks: reversed, or interleaved channels."""
    groups = model.spec.groups
    if groups == 1 or model.kind == "weight_grad":
        return
    c_in, c_out = model.in_channels, model.out_channels
    every = f"g, g + {groups}, g + {2 * groups}, ..."
    blocks = f"group g owns the input channels [g·{c_in // groups}, (g+1)·{c_in // groups})"
    yield model.changed(Fault("group order", f"your groups read the input channel blocks in "
                              f"reverse order: {blocks}"),
                        in_order=_block_reversed(c_in, groups))
    if c_in // groups > 1:
        yield model.changed(Fault("group order", f"your group g reads the input channels {every}:"
                                  f" {blocks}"),
                            in_order=_interleaved(c_in, groups))
    if c_out // groups > 1:
        order = _interleaved(c_out, groups)
        inverse = tuple(order.index(o) for o in range(c_out))
        yield model.changed(Fault("group order", f"your group g writes the output channels "
                                  f"{every}: it owns the output channels "
                                  f"[g·{c_out // groups}, (g+1)·{c_out // groups})"),
                            out_order=inverse)


# --------------------------------------------------------------------------------------------
# Output size, bias, batch
# --------------------------------------------------------------------------------------------

def size_formulas(model: Model, axes: Sequence[int]) -> str:
    """The output size along each of ``axes`` worked out, named by its axis where several."""
    if len(axes) == 1:
        return size_formula(model, axes[0])
    names = axis_names(model.spec.dims)
    return "; ".join(f"{names[a]}: {size_formula(model, a)}" for a in axes)


def size_formula(model: Model, axis: int) -> str:
    """The output size along ``axis`` worked out with the model's numbers, for a message."""
    spec = model.spec
    (lo, hi), k = spec.padding[axis], spec.kernel_size[axis]
    s, d = spec.stride[axis], spec.dilation[axis]
    n, out = model.size[axis], model.spatial_out()[axis]
    if model.kind == "conv_transpose":
        a = spec.output_padding[axis]
        return f"({n} - 1)·{s} - {lo} - {hi} + {d}·({k} - 1) + {a} + 1 = {out}"
    return f"floor(({n} + {lo} + {hi} - {d}·({k} - 1) - 1) / {s}) + 1 = {out}"


def output_size(model: Model) -> Iterator[Model | None]:
    """Ceil instead of floor, output_padding ignored, or the last output row missing."""
    spec, dims = model.spec, model.spec.dims
    spatial = model.spatial_out()
    if model.kind == "weight_grad":
        return
    if model.kind == "conv" and spec.padding_mode == "zeros":
        unused = spec.unused(model.size)
        for axes in axis_groups([a for a in range(dims) if unused[a]]):
            pads = tuple((lo, hi + spec.stride[a] - unused[a]) if a in axes else (lo, hi)
                         for a, (lo, hi) in enumerate(spec.padding))
            message = (f"your output has one row too many on {axes_text(axes, dims)}: the output "
                       f"size rounds down, {size_formulas(model, axes)}, not up")
            yield model.changed(Fault("output size", message), {"padding": pads})
    if model.kind == "conv_transpose":
        extra = spec.output_padding
        for axes in axis_groups([a for a in range(dims) if extra[a]]):
            zero = changed_on(extra, axes, lambda v: 0)
            if model.role == "input gradient":
                message = (f"grad_x misses its last row(s) on {axes_text(axes, dims)}: where the "
                           f"stride leaves input rows unused, the transposed convolution needs "
                           f"output_padding = (n + p_lo + p_hi - d·(k - 1) - 1) mod s = "
                           f"{per_axis_text(extra, axes)} to give back the input size "
                           f"({size_formulas(model, axes)})")
            else:
                message = (f"output_padding ignored on {axes_text(axes, dims)}: the transposed "
                           f"output size is (m - 1)·s - p_lo - p_hi + d·(k - 1) + "
                           f"output_padding + 1, {size_formulas(model, axes)}")
            yield model.changed(Fault("output size", message), {"output_padding": zero})
    for axes in axis_groups([a for a in range(dims) if spatial[a] > 1]):
        message = (f"your output misses its last row on {axes_text(axes, dims)}: the output size "
                   f"is {size_formulas(model, axes)}")
        yield model.changed(Fault("output size", message),
                            crop=changed_on(model.crop or (0,) * dims, axes, lambda v: v + 1))


def bias_misapplied(model: Model) -> Iterator[Model | None]:
    """The bias missing, added twice, or added inside the sum over the input channels."""
    if model.bias:
        yield model.changed(Fault("bias missing", "bias missing: add b[o] to every output of "
                                  "channel o"), bias_scale=0.0)
        yield model.changed(Fault("bias added twice", "bias added twice: add b[o] once"),
                            bias_scale=2.0)
        summed = model.in_channels // model.spec.groups
        if summed > 1:
            yield model.changed(Fault("bias per input channel", f"bias added once per input "
                                      f"channel of a group ({summed} times): add b[o] once, "
                                      "outside the sum over c"), bias_scale=float(summed))


def batch_mean(model: Model) -> Iterator[Model | None]:
    """The weight gradient averaged over the batch instead of summed."""
    if model.kind == "weight_grad":
        yield model.changed(Fault("batch mean", "grad_w is averaged over the batch: the gradient "
                                  "of a sum over samples is the sum, grad_w = Σ_n ..., do not "
                                  "divide by N"), batch_mean=True)


FAMILY: tuple[FaultFunction, ...] = (
    kernel_flipped, kernel_transposed, channel_order, group_order, output_size, padding_offset,
    padding_mode_wrong, stride_misapplied, dilation_misapplied, bias_misapplied, batch_mean,
)


# --------------------------------------------------------------------------------------------
# One fault, two faults
# --------------------------------------------------------------------------------------------

def singles(base: M, family: Sequence[FaultFunction]) -> Iterator[M]:
    """Every variant of every fault of ``family``, in the family's order."""
    for fault in family:
        yield from (model for model in fault(base) if model is not None)


def pairs(base: M, family: Sequence[FaultFunction]) -> Iterator[M]:
    """Two faults of different kinds at once: the second applied to the first's model."""
    for position, first in enumerate(family):
        for model in singles(base, (first,)):
            yield from singles(model, family[position + 1:])
