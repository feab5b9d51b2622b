"""Convolution and pooling specifications: the one place where sizes are validated.

A :class:`ConvSpec` describes a forward N-d cross-correlation (``conv`` in deep-learning
terms).  Its transposed convolution is the adjoint of that forward map: it takes
``out_channels`` back to ``in_channels`` with the same weight ``(C_out, C_in/groups, *k)``.

Every size formula here works on Python ints and on SymPy integer symbols alike, so that the
proofs can call the very code the numeric paths call.  With symbols, a constraint that SymPy
cannot decide (a kernel that fits an input of symbolic size) is taken as a hypothesis of the
caller; only a constraint that is decidedly violated raises.  Per axis, with input size n, kernel k,
stride s, dilation d, padding (p_lo, p_hi) and output_padding a:

    window span        e = d(k - 1) + 1
    conv output        o = floor((n + p_lo + p_hi - e) / s) + 1
    unused trailing    u = (n + p_lo + p_hi - e) mod s        (rows no window reaches)
    transposed output  t = (m - 1)s - p_lo - p_hi + d(k - 1) + a + 1   (m: its input size)
    "same" padding     p_lo + p_hi = max(0, (ceil(n/s) - 1)s + e - n), the odd pixel at the end
    "full" padding     p_lo = p_hi = d(k - 1)
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any
from collections.abc import Sequence

import numpy as np
import sympy

Size = int | sympy.Expr
Pads = tuple[tuple[Size, Size], ...]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PADDING_STRINGS = ("valid", "same", "full")


# --------------------------------------------------------------------------------------------
# Integer helpers that work on ints and on SymPy integer expressions.
# --------------------------------------------------------------------------------------------


def _is_symbolic(value: Any) -> bool:
    return isinstance(value, sympy.Basic) and not value.is_Integer


def _max(a: Size, b: Size) -> Size:
    if _is_symbolic(a) or _is_symbolic(b):
        return sympy.Max(a, b)
    return max(int(a), int(b))


def ceil_div(a: Size, b: Size) -> Size:
    """ceil(a / b) for a positive divisor, exact on ints and SymPy integers."""
    return -((-a) // b)


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a Python bool (NumPy's bool too), else a TypeError naming it."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def padded_size(size: Sequence[Size], pads: Pads) -> tuple[Size, ...]:
    """n + p_lo + p_hi per axis: the size of the padded input."""
    return tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))


def _known(relation: Any) -> bool | None:
    """True/False when the relation is decided, None when it depends on free symbols."""
    if isinstance(relation, bool):
        return relation
    if relation in (sympy.true, sympy.false):
        return bool(relation)
    return None


def _integer(name: str, value: Any, minimum: int) -> Size:
    """Validate one integer parameter: an int (not bool, not float) or a SymPy integer."""
    if not isinstance(value, (int, sympy.Basic)) or isinstance(value, bool):
        refused = TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
        if isinstance(value, (bool, np.bool_)):
            raise refused
        try:
            value = operator.index(value)  # NumPy integers, not arrays of them
        except TypeError:
            raise refused from None
    if isinstance(value, sympy.Basic):
        if value.is_Integer:
            value = int(value)
        elif value.is_integer is not True:
            raise TypeError(
                f"{name} must be an integer; the SymPy expression {value} is not known to be one "
                "(declare its symbols with integer=True)"
            )
        else:
            # Symbolic sizes: a constraint SymPy cannot decide is a hypothesis of the caller
            # (the proofs state it); one that is decidedly violated is an error.
            if _known(value >= minimum) is False:
                raise ValueError(f"{name} must be at least {minimum}, got {value}")
            return value
    if value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value}")
    return value


def _count(entries: int, dims: int) -> str:
    """'2 entries, but there is 1 spatial dim' and the like."""
    given = "1 entry" if entries == 1 else f"{entries} entries"
    wanted = "is 1 spatial dim" if dims == 1 else f"are {dims} spatial dims"
    return f"{given}, but there {wanted}"


def per_dim(name: str, value: Any, dims: int, minimum: int) -> tuple[Size, ...]:
    """An int for every dim, or a tuple with one entry per spatial dim."""
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise ValueError(f"{name} has {_count(len(value), dims)}: {tuple(value)!r}")
        return tuple(_integer(f"{name}[{axis}]", v, minimum) for axis, v in enumerate(value))
    return (_integer(name, value, minimum),) * dims


def shape_argument(name: str, value: Any, layout: str, length: int | None = None,
                   batched: bool = False) -> tuple[int, ...]:
    """A full array shape given as an argument (``input_size``, ``weight_size``): a tuple of
    ``length`` integers (any number when None), each positive but a leading batch size
    (``batched``), which may be 0."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a shape {layout}, got {value!r}")
    if length is not None and len(value) != length:
        raise ValueError(f"{name} must have {length} entries {layout}, got {tuple(value)!r}")
    return tuple(concrete(f"{name}[{axis}]", _integer(f"{name}[{axis}]", v,
                                                     0 if batched and axis == 0 else 1))
                 for axis, v in enumerate(value))


def concrete(name: str, value: Size) -> int:
    """A checked integer size as an int: an array's sizes are numbers, not SymPy symbols."""
    if _is_symbolic(value):
        raise TypeError(f"{name} must be an integer to compute on arrays, got {value}")
    return int(value)


def normalize_padding(padding: Any, dims: int) -> str | Pads:
    """'valid' | 'same' | 'full' stays a string; ints become per-dim (lo, hi) pairs."""
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError(
                f"padding must be an integer, a tuple or one of {PADDING_STRINGS}, got {padding!r}"
            )
        return padding
    if isinstance(padding, (list, tuple)):
        if len(padding) != dims:
            hint = (
                f"; for (lo, hi) padding of a 1-D input write ({tuple(padding)!r},)"
                if dims == 1 and len(padding) == 2
                else ""
            )
            raise ValueError(f"padding has {_count(len(padding), dims)}: {tuple(padding)!r}{hint}")
        pairs = []
        for axis, entry in enumerate(padding):
            if isinstance(entry, (list, tuple)):
                if len(entry) != 2:
                    raise ValueError(f"padding[{axis}] must be an integer or a (lo, hi) pair, "
                                     f"got {tuple(entry)!r}")
                lo, hi = (_integer(f"padding[{axis}]", v, 0) for v in entry)
            else:
                lo = hi = _integer(f"padding[{axis}]", entry, 0)
            pairs.append((lo, hi))
        return tuple(pairs)
    p = _integer("padding", padding, 0)
    return ((p, p),) * dims


def check_padding_mode(mode: Any) -> str:
    """One of PADDING_MODES, else a ValueError (TypeError for what is not a string)."""
    if not isinstance(mode, str):
        raise TypeError(f"padding_mode must be one of {PADDING_MODES}, got {mode!r}")
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {mode!r}")
    return mode


def _input_sizes(
    input_size: Sequence[Size], dims: int, name: str = "input_size"
) -> tuple[Size, ...]:
    if not isinstance(input_size, (list, tuple)):
        raise TypeError(f"{name} must be a tuple of {dims} spatial sizes, got {input_size!r}")
    return per_dim(name, tuple(input_size), dims, 1)


def check_padding_fits(mode: str, pads: Pads, sizes: Sequence[Size],
                       padded: str = "input size") -> None:
    """reflect needs p < n (the border pixel is not repeated); circular needs p <= n; n is
    the size that is padded, named ``padded`` in the error (a transposed convolution pads its
    output)."""
    for axis, ((lo, hi), n) in enumerate(zip(pads, sizes)):
        for p, side in ((lo, "before"), (hi, "after")):
            if mode == "reflect" and _known(p < n) is False:
                raise ValueError(
                    f"padding[{axis}] = {p} {side} is not smaller than the {padded} {n}: "
                    f"reflect padding needs padding < {padded}"
                )
            if mode == "circular" and _known(p <= n) is False:
                raise ValueError(
                    f"padding[{axis}] = {p} {side} exceeds the {padded} {n}: "
                    f"circular padding needs padding <= {padded}"
                )


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvSpec:
    """A forward N-d convolution (cross-correlation); ``dims = len(kernel_size)``.

    ``kernel_size`` is a tuple with one entry per spatial dim (an int means a 1-D kernel).
    ``padding`` is an int, a per-dim tuple, per-dim ``(lo, hi)`` pairs, ``"valid"``,
    ``"same"`` (output ceil(n/s) for any stride) or ``"full"``.  ``output_padding`` is used
    by the transposed convolution and must lie in [0, max(s, d)) per dim.  With
    ``strict=True`` a window layout that leaves trailing input rows unused is refused, and so
    is an ``output_padding`` other than 0 (the rows it adds are such rows).
    """

    in_channels: Size
    out_channels: Size
    kernel_size: Any
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: Size = 1
    padding_mode: str = "zeros"
    output_padding: Any = 0
    strict: bool = False

    def __post_init__(self) -> None:
        kernel = (
            self.kernel_size if isinstance(self.kernel_size, (list, tuple)) else (self.kernel_size,)
        )
        if len(kernel) == 0:
            raise ValueError("kernel_size must have at least one spatial dim, got ()")
        kernel = tuple(_integer(f"kernel_size[{a}]", k, 1) for a, k in enumerate(kernel))
        dims = len(kernel)
        groups = _integer("groups", self.groups, 1)
        in_channels = _integer("in_channels", self.in_channels, 1)
        out_channels = _integer("out_channels", self.out_channels, 1)
        for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if (
                _known(
                    sympy.Eq(channels % groups, 0)
                    if _is_symbolic(channels) or _is_symbolic(groups)
                    else channels % groups == 0
                )
                is False
            ):
                raise ValueError(f"{name} = {channels} is not divisible by groups = {groups}")
        stride = per_dim("stride", self.stride, dims, 1)
        dilation = per_dim("dilation", self.dilation, dims, 1)
        output_padding = per_dim("output_padding", self.output_padding, dims, 0)
        for axis, (a, s, d) in enumerate(zip(output_padding, stride, dilation)):
            if _known(a < _max(s, d)) is False:
                raise ValueError(f"output_padding[{axis}] = {a} must be smaller than "
                                 f"max(stride, dilation) = {_max(s, d)}")
        strict = check_flag("strict", self.strict)
        if strict and any(_known(sympy.Eq(a, 0) if _is_symbolic(a) else a == 0) is False
                          for a in output_padding):
            raise ValueError(f"output_padding = {output_padding} with strict=True: the "
                             "transposed conv's last output_padding rows are reached by no "
                             "window, which strict refuses")
        fields = dict(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=kernel,
            stride=stride,
            padding=normalize_padding(self.padding, dims),
            dilation=dilation,
            groups=groups,
            padding_mode=check_padding_mode(self.padding_mode),
            output_padding=output_padding,
            strict=strict,
        )
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    # -- shapes -------------------------------------------------------------------------------
    @property
    def dims(self) -> int:
        return len(self.kernel_size)

    @property
    def weight_shape(self) -> tuple[Size, ...]:
        """(C_out, C_in/groups, *k): the weight of the conv and of its transposed conv."""
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    @property
    def span(self) -> tuple[Size, ...]:
        """Extent of one window per dim, d(k - 1) + 1."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    def pads(self, input_size: Sequence[Size]) -> Pads:
        """Per-dim (p_lo, p_hi) for a forward input of spatial size ``input_size``."""
        sizes = _input_sizes(input_size, self.dims)
        if not isinstance(self.padding, str):
            return self.padding
        pads = []
        for n, k, s, d in zip(sizes, self.kernel_size, self.stride, self.dilation):
            if self.padding == "valid":
                total = 0
            elif self.padding == "full":
                total = 2 * d * (k - 1)
            elif s == 1:
                total = d * (k - 1)
            else:
                total = _max(0, (ceil_div(n, s) - 1) * s + d * (k - 1) + 1 - n)
            lo = d * (k - 1) if self.padding == "full" else total // 2
            pads.append((lo, total - lo))
        return tuple(pads)

    def transposed_pads(self) -> Pads:
        """The pads of the transposed conv, which cannot depend on the (unknown) forward size."""
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(
                f"padding='same' with stride {self.stride} depends on the forward input size; "
                "a transposed convolution needs explicit padding"
            )
        return self.pads((1,) * self.dims)

    def _excess(self, sizes: Sequence[Size], pads: Pads) -> tuple[Size, ...]:
        """n + p_lo + p_hi - e per dim; negative means a kernel larger than the padded input."""
        excess = []
        for axis, (n, (lo, hi), e) in enumerate(zip(sizes, pads, self.span)):
            x = n + lo + hi - e
            if _known(x >= 0) is False:
                raise ValueError(
                    f"kernel_size[{axis}] = {self.kernel_size[axis]} with dilation "
                    f"{self.dilation[axis]} spans {e}, larger than the padded input {n + lo + hi} "
                    f"(input {n} + padding {lo} + {hi})"
                )
            excess.append(x)
        return tuple(excess)

    def output_size(self, input_size: Sequence[Size]) -> tuple[Size, ...]:
        """floor((n + p_lo + p_hi - d(k-1) - 1)/s) + 1 per dim (PyTorch's floor rule)."""
        sizes = _input_sizes(input_size, self.dims)
        pads = self.pads(sizes)
        if self.padding_mode != "zeros":
            check_padding_fits(self.padding_mode, pads, sizes)
        excess = self._excess(sizes, pads)
        if self.strict:
            for axis, u in enumerate(self.unused(sizes)):
                if _known(sympy.Eq(u, 0) if _is_symbolic(u) else u == 0) is False:
                    raise ValueError(
                        f"stride {self.stride[axis]} leaves {u} trailing input row(s) of dim "
                        f"{axis} unused (input {sizes[axis]}, kernel {self.kernel_size[axis]}); "
                        "strict=True refuses such a layout"
                    )
        return tuple(x // s + 1 for x, s in zip(excess, self.stride))

    def unused(self, input_size: Sequence[Size]) -> tuple[Size, ...]:
        """Trailing rows of the padded input that no window reaches: (n + p_lo + p_hi - e) mod s."""
        sizes = _input_sizes(input_size, self.dims)
        return tuple(x % s for x, s in zip(self._excess(sizes, self.pads(sizes)), self.stride))

    def transposed_output_size(self, input_size: Sequence[Size]) -> tuple[Size, ...]:
        """(m - 1)s - p_lo - p_hi + d(k - 1) + a + 1 per dim, m the transposed conv's input size."""
        sizes = _input_sizes(input_size, self.dims)
        out = []
        for axis, (m, (lo, hi), k, s, d, a) in enumerate(
            zip(
                sizes,
                self.transposed_pads(),
                self.kernel_size,
                self.stride,
                self.dilation,
                self.output_padding,
            )
        ):
            t = (m - 1) * s - lo - hi + d * (k - 1) + a + 1
            if _known(t >= 1) is False:
                raise ValueError(
                    f"the transposed convolution has no output along dim {axis}: "
                    f"({m} - 1)*{s} - {lo} - {hi} + {d}*({k} - 1) + {a} + 1 = {t}"
                )
            out.append(t)
        return tuple(out)

    def output_padding_for(
        self, input_size: Sequence[Size], target_size: Sequence[Size]
    ) -> tuple[Size, ...]:
        """The output_padding a that gives the transposed conv of ``input_size`` ``target_size``.

        This is how the input gradient recovers the forward input size that the floor rule
        forgot.  ``target_size`` must be a size that the forward conv maps to ``input_size``;
        then a = (n + p_lo + p_hi - d(k - 1) - 1) mod s, in [0, s) (transposed-output-size).
        """
        sizes = _input_sizes(input_size, self.dims)
        targets = _input_sizes(target_size, self.dims, "target_size")
        forward = self.output_size(targets)
        result = []
        for axis, (m, n, o, u) in enumerate(zip(sizes, targets, forward, self.unused(targets))):
            if _known(sympy.Eq(m, o) if _is_symbolic(m) or _is_symbolic(o) else m == o) is False:
                raise ValueError(
                    f"size {n} along dim {axis} is not an input size that the convolution maps to "
                    f"output size {m} (it maps to {o})"
                )
            result.append(u)
        return tuple(result)

    def replace(self, **changes: Any) -> ConvSpec:
        """A copy with some fields changed (validated again)."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        fields.update(changes)
        return ConvSpec(**fields)


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolSpec:
    """A max or average pooling window over ``dims = len(kernel_size)`` spatial dims.

    ``stride`` defaults to the kernel size; symmetric ``padding`` at most half the kernel
    (implicit -inf for max, zeros for average).  Output per dim, with x = n + 2p - d(k-1) - 1:
    floor(x/s) + 1, or with ``ceil_mode`` ceil(x/s) + 1, less one when that last window
    would start in the right padding.  As in PyTorch, ceil_mode also allows a window that
    spans up to s - 1 positions more than the padded input (-s < x < 0: one output).
    """

    kernel_size: Any
    stride: Any = None
    padding: Any = 0
    dilation: Any = 1
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        kernel = (
            self.kernel_size if isinstance(self.kernel_size, (list, tuple)) else (self.kernel_size,)
        )
        kernel = tuple(_integer(f"kernel_size[{a}]", k, 1) for a, k in enumerate(kernel))
        dims = len(kernel)
        if dims == 0:
            raise ValueError(f"kernel_size must have one entry per spatial dim, got "
                             f"{self.kernel_size!r}")
        stride = (
            kernel
            if self.stride is None or (isinstance(self.stride, (list, tuple)) and not self.stride)
            else per_dim("stride", self.stride, dims, 1)
        )
        padding = per_dim("padding", self.padding, dims, 0)
        for axis, (p, k) in enumerate(zip(padding, kernel)):
            if _known(2 * p <= k) is False:
                raise ValueError(f"padding[{axis}] = {p} is more than half the kernel size {k}")
        check_flag("ceil_mode", self.ceil_mode)
        for name, value in dict(
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            dilation=per_dim("dilation", self.dilation, dims, 1),
            ceil_mode=bool(self.ceil_mode),
        ).items():
            object.__setattr__(self, name, value)

    @property
    def dims(self) -> int:
        return len(self.kernel_size)

    def output_size(self, input_size: Sequence[Size]) -> tuple[Size, ...]:
        sizes = _input_sizes(input_size, self.dims)
        out = []
        for axis, (n, k, s, p, d) in enumerate(
            zip(sizes, self.kernel_size, self.stride, self.padding, self.dilation)
        ):
            x = n + 2 * p - d * (k - 1) - 1
            overhang = s - 1 if self.ceil_mode else 0  # the last window may pass the end
            if _known(x + overhang >= 0) is False:
                more = f" by more than stride - 1 = {overhang}" if self.ceil_mode else ""
                raise ValueError(
                    f"kernel_size[{axis}] = {k} with dilation {d} spans {d * (k - 1) + 1}, "
                    f"larger than the padded input {n + 2 * p}{more}"
                )
            if self.ceil_mode:
                o = ceil_div(x, s) + 1
                if (o - 1) * s >= n + p:  # the last window would start inside the right padding
                    o -= 1
            else:
                o = x // s + 1
            out.append(o)
        return tuple(out)


ADAPTIVE_OUTPUTS = 2**24
"""The most outputs an axis of an adaptive pooling may have: its windows are listed (some 100
bytes each in Python), and 2^24 of them already take about 2 GB."""


def adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """Adaptive pooling window of output i: [floor(i n / o), ceil((i + 1) n / o))."""
    n = _integer("input size", n, 1)
    o = _integer("output_size", o, 1)
    if o > ADAPTIVE_OUTPUTS:
        raise ValueError(f"output_size {o} exceeds the {ADAPTIVE_OUTPUTS} outputs an axis of "
                         "an adaptive pooling may have (its windows are listed)")
    return [((i * n) // o, ceil_div((i + 1) * n, o)) for i in range(o)]


# --------------------------------------------------------------------------------------------
# Shapes of arrays against each other
# --------------------------------------------------------------------------------------------

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
"""The names of the spatial axes in shapes and messages."""


def spatial_axes(dims: int) -> str:
    """The spatial axes of a shape as written in messages: "L", "H, W", "D, H, W"."""
    return ", ".join(AXIS_NAMES.get(dims, ("...",)))


def _check_ranks(input_shape: Sequence[int], weight_shape: Sequence[int], dims: int,
                 transposed: bool) -> None:
    """Both arrays have dims + 2 axes, and none of them (but the batch) is empty."""
    spatial = spatial_axes(dims)
    if len(weight_shape) != dims + 2:
        layout = "(C_in, C_out/groups, " if transposed else "(C_out, C_in/groups, "
        raise ValueError(
            f"weight must have {dims + 2} dims {layout}{spatial}) for a {dims}-D "
            f"convolution, got shape {tuple(weight_shape)}"
        )
    if len(input_shape) != dims + 2:
        raise ValueError(
            f"input must have {dims + 2} dims (N, C, {spatial}) for a {dims}-D "
            f"convolution, got shape {tuple(input_shape)}"
        )
    for axis, size in enumerate(input_shape[1:], start=1):
        if size < 1:
            raise ValueError(f"input has an empty axis {axis}: shape {tuple(input_shape)}")
    if any(size < 1 for size in weight_shape):
        raise ValueError(f"weight has an empty axis: shape {tuple(weight_shape)}")


def _channels(channels: int, weight_shape: Sequence[int], groups: int, transposed: bool
              ) -> tuple[int, int, int]:
    """(C_in, C_out, the channels produced) of a conv (or transposed conv) whose input has
    ``channels`` channels, checked against the weight and the groups."""
    if channels % groups:
        raise ValueError(f"input has {channels} channels, not divisible by groups = {groups}")
    if transposed:
        if weight_shape[0] != channels:
            raise ValueError(
                f"input has {channels} channels, but the transposed-convolution weight "
                f"of shape {tuple(weight_shape)} expects {weight_shape[0]}"
            )
        in_channels, out_channels = weight_shape[1] * groups, weight_shape[0]
        produced = in_channels
    else:
        if weight_shape[1] * groups != channels:
            raise ValueError(
                f"input has {channels} channels, but weight of shape {tuple(weight_shape)} "
                f"with groups={groups} expects {weight_shape[1]} * {groups} = "
                f"{weight_shape[1] * groups}"
            )
        in_channels, out_channels = channels, weight_shape[0]
        produced = out_channels
    if weight_shape[0] % groups != 0:
        raise ValueError(
            f"weight has {weight_shape[0]} filters along axis 0, not divisible by groups = {groups}"
        )
    return in_channels, out_channels, produced


def conv_spec_for(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    bias_shape: Sequence[int] | None = None,
    *,
    dims: int,
    transposed: bool = False,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
    padding_mode: str = "zeros",
    output_padding: Any = 0,
) -> ConvSpec:
    """Check input, weight and bias shapes against each other; return the forward ConvSpec.

    conv:            input (N, C_in, *n),  weight (C_out, C_in/groups, *k), bias (C_out,)
    transposed conv: input (N, C_out, *m), weight (C_out, C_in/groups, *k), bias (C_in,)
    (the transposed conv maps the forward conv's output space back to its input space).
    """
    _check_ranks(input_shape, weight_shape, dims, transposed)
    groups = _integer("groups", groups, 1)
    in_channels, out_channels, produced = _channels(input_shape[1], weight_shape, groups,
                                                    transposed)
    if bias_shape is not None and tuple(bias_shape) != (produced,):
        raise ValueError(
            f"bias must have shape ({produced},), one entry per output channel, "
            f"got {tuple(bias_shape)}"
        )
    return ConvSpec(
        in_channels,
        out_channels,
        tuple(weight_shape[2:]),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=padding_mode,
        output_padding=output_padding,
    )
