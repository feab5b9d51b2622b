"""What every kernel skeleton shares: the kernel record, the static parameters, the slot printers.

A skeleton is C text with named slots (``$setup``, ``$taps``: the per-tap body, ``$epilogue``),
filled by printing the expressions of :mod:`.derivations` with the
:class:`~.printer.CudaPrinter`, one spatial axis at a time.  Arrays are contiguous NC(D)HW;
every global index is ``long long``; ``int`` is used only for counters inside a tile or a
block, bounded by the tile table (below 2048) or the block size.  :func:`narrow_indices` gives
a conv kernel's 32-bit variant, for arrays of at most :data:`INDEX32_ELEMENTS` entries.

The slot printers of :class:`Slots`:

    read        the padded input at position j:  [0 <= j < n] x[j] (zeros), x[pi(j)] otherwise
    candidates  the positions u with pi(u) = t that P^T adds onto pixel t (u = t for zeros)
    gather      for tap m: num = j + p - d·m, counted when [s | num] and 0 <= num/s < o,
                then i = (j + p - d·m)/s  (grad-input-flip)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from string import Template

import numpy as np
import sympy
from sympy import Expr

from ..spec import PADDING_MODES, ConvSpec, PoolSpec
from ..symbolic.language import Divides, EqZero, in_range
from . import derivations as dv
from .names import axes, c_type, collapsed, dtype_tag, join, padding_tag
from .printer import PRELUDE, CudaPrinter, printer

ELEMENT_TYPES = {"float": np.dtype(np.float32), "double": np.dtype(np.float64),
                 "long long": np.dtype(np.int64), "int": np.dtype(np.int32)}

THREADS = 256
"""Threads per block of the elementwise kernels and of the weight-gradient reduction."""

_v = sympy.Symbol("v", real=True)
ACTIVATIONS: dict[str, Expr] = {
    "identity": _v,
    "relu": sympy.Piecewise((0, _v < 0), (_v, True)),   # NaN stays NaN, as in PyTorch
}


# --------------------------------------------------------------------------------------------
# Kernels and their static parameters
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    """A kernel parameter: its name and C type."""

    name: str
    ctype: str

    @property
    def pointer(self) -> bool:
        return self.ctype.endswith("*")

    @property
    def output(self) -> bool:
        """A pointer the kernel writes through."""
        return self.pointer and not self.ctype.startswith("const")

    @property
    def dtype(self) -> np.dtype:
        """The element type of a pointer, the type of a scalar."""
        return ELEMENT_TYPES[self.ctype.replace("const ", "").rstrip("*").strip()]

    def scalar(self, value: int) -> np.integer:
        """``value`` as this integer scalar parameter's type; OverflowError beyond its range."""
        limits = np.iinfo(self.dtype)
        if not limits.min <= int(value) <= limits.max:
            raise OverflowError(f"argument {self.name} = {value} does not fit {self.ctype}")
        return self.dtype.type(int(value))


@dataclass(frozen=True)
class Tile:
    """A tile of the implicit GEMM: BM rows x BN columns, BK reduction steps per stage,
    TM x TN outputs per thread (spread BM/TM rows and BN/TN columns apart)."""

    bm: int
    bn: int
    bk: int
    tm: int
    tn: int

    def __post_init__(self) -> None:
        threads = self.threads
        if self.bm % self.tm or self.bn % self.tn or threads % self.bm or (
                self.bk * self.bm) % threads or not 32 <= threads <= 1024:
            raise ValueError(f"{self} does not divide evenly among {threads} threads")

    @property
    def threads(self) -> int:
        return (self.bm // self.tm) * (self.bn // self.tn)

    @property
    def tag(self) -> str:
        return f"t{self.bm}x{self.bn}"


TILES: tuple[tuple[int, Tile], ...] = (
    (4, Tile(256, 4, 8, 4, 1)),        # depthwise and few filters per group
    (16, Tile(256, 16, 8, 4, 4)),
    (32, Tile(128, 32, 16, 4, 4)),
    (2**62, Tile(64, 64, 16, 4, 4)),
)
"""Tile per shape class: the first row whose bound holds the output channels per group."""


def tile_for(channels_per_group: int) -> Tile:
    """The tile of the shape class of ``channels_per_group`` output channels (C_out/G)."""
    (channels,) = ints((channels_per_group,), "channels_per_group", minimum=1)
    return next(tile for bound, tile in TILES if channels <= bound)


@contextmanager
def tile_table(table: tuple[tuple[int, Tile], ...]) -> Iterator[None]:
    """Kernels built within take their tiles from ``table`` instead of TILES (to time a
    candidate table: a backend keeps the kernels it built, so take a fresh one within)."""
    global TILES
    previous, TILES = TILES, table
    try:
        yield
    finally:
        TILES = previous


@dataclass(frozen=True)
class Kernel:
    """An emitted kernel: its name, CUDA source, parameters and launch shape."""

    name: str
    source: str
    params: tuple[Param, ...]
    threads: int
    derived: tuple[dv.Derived, ...]
    tile: Tile | None = None

    @property
    def synchronizes(self) -> bool:
        """Whether the threads of a block meet at barriers (shared-memory kernels)."""
        return "__syncthreads()" in self.source


INDEX32_ELEMENTS = 2**30
"""The most entries an array may hold for a kernel's 32-bit variant (:func:`narrow_indices`),
and the largest :func:`position_extent` of its geometry.  Every index, offset and size a conv
kernel computes is at most the entries of one of its arrays (the outputs of a split sum
counted together) or the extent of a position along an axis, plus a few tiles or a grid's
threads (below 2^29), so with both up to 2^30 all of them stay below 2^31."""


def narrow_indices(kernel: Kernel) -> Kernel:
    """``kernel`` with its index arithmetic in ``int`` instead of ``long long`` (name + _i32).

    Every ``long long`` of a kernel is an index, an offset or a size, but the element type of
    an index array (max pooling's flat indices, kept 64-bit: ``long long*``), so the type is
    renamed throughout, its scalar parameters included; the caller takes this variant only
    where every array holds at most :data:`INDEX32_ELEMENTS` entries (so every flat index
    stored fits an int too) and the geometry's :func:`position_extent` is at most as large.
    32-bit integer products and divisions by constants cost a fraction of 64-bit ones.
    """
    name = f"{kernel.name}_i32"
    kept = "\0"  # the element type of index arrays, out of the way of the renaming
    source = (kernel.source.replace("long long*", kept).replace("long long", "int")
              .replace(kept, "long long*").replace(kernel.name, name))
    params = tuple(Param(p.name, "int") if p.ctype == "long long" else p for p in kernel.params)
    return replace(kernel, name=name, source=source, params=params)


def ints(values: Sequence[int], name: str = "a static parameter", minimum: int = 0
         ) -> tuple[int, ...]:
    """Python ints, each at least ``minimum`` (a static parameter given as NumPy integers
    prints and hashes alike); a float or a truth value is refused, not truncated into the
    kernel's source and name."""
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(f"{name} is a sequence of ints, got {values!r}") from None
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} takes ints, got {v!r} in {values}")
        if v < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {v} in {values}")
    return tuple(int(v) for v in values)


def pad_pairs(pads: Sequence[Sequence[int]], dims: int | None = None
              ) -> tuple[tuple[int, int], ...]:
    """(lo, hi) per axis, nonnegative ints; ``dims`` of them where given."""
    pairs = tuple(ints(pair, "pads", minimum=0) for pair in pads)
    if any(len(pair) != 2 for pair in pairs) or (dims is not None and len(pairs) != dims):
        raise ValueError(f"pads takes one (lo, hi) pair per axis"
                         f"{'' if dims is None else f' ({dims})'}, got {pads}")
    return pairs


def _per_axis(geometry: ConvGeometry | PoolGeometry, names: Sequence[str], minimum: int) -> None:
    """Each of ``names`` a tuple of ints of ``minimum`` or more, one per axis of the kernel."""
    kernel_size = ints(geometry.kernel_size, "kernel_size", minimum=1)
    if not kernel_size:
        raise ValueError("kernel_size has no axes: a kernel has one size per spatial axis")
    for name in names:
        values = ints(getattr(geometry, name), name, minimum)
        if len(values) != len(kernel_size):
            raise ValueError(f"{name} has {len(values)} values for a kernel of "
                             f"{len(kernel_size)} axes: {values}")
        object.__setattr__(geometry, name, values)


def _check_dtype(dtype: np.dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    dtype_tag(dtype)
    return dtype


@dataclass(frozen=True)
class ConvGeometry:
    """The static parameters of a conv kernel (the sizes and channel counts are runtime)."""

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int = 1
    mode: str = "zeros"
    dtype: np.dtype = field(default=np.dtype(np.float32))

    def __post_init__(self) -> None:
        _per_axis(self, ("kernel_size", "stride", "dilation"), minimum=1)
        object.__setattr__(self, "pads", pad_pairs(self.pads, self.dims))
        object.__setattr__(self, "groups", ints((self.groups,), "groups", minimum=1)[0])
        object.__setattr__(self, "dtype", _check_dtype(self.dtype))
        if self.mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {self.mode!r}")

    @classmethod
    def of(cls, spec: ConvSpec, input_size: Sequence[int], dtype: np.dtype) -> ConvGeometry:
        """The geometry of ``spec`` on inputs of spatial ``input_size``."""
        return cls(spec.kernel_size, spec.stride, spec.pads(tuple(input_size)), spec.dilation,
                   spec.groups, spec.padding_mode, dtype)

    @property
    def dims(self) -> int:
        return len(self.kernel_size)

    @property
    def taps(self) -> int:
        return math.prod(self.kernel_size)

    def tag(self) -> str:
        """k3x3_s1_p1_d1_g1[_mode]."""
        mode = "" if self.mode == "zeros" else self.mode
        return join(f"k{axes(self.kernel_size)}", f"s{collapsed(self.stride)}",
                    padding_tag(self.pads), f"d{collapsed(self.dilation)}", f"g{self.groups}",
                    mode)

    def describe(self) -> str:
        return (f"kernel {self.kernel_size}, stride {self.stride}, padding {self.pads} "
                f"({self.mode}), dilation {self.dilation}, groups {self.groups}")

    def axis(self, a: int) -> dict[str, int]:
        """The static values along axis ``a``: k, s, d and p (= p_lo)."""
        return dict(k=self.kernel_size[a], s=self.stride[a], d=self.dilation[a],
                    p=self.pads[a][0])

    def extent(self, size: Sequence[int]) -> int:
        """max over the axes of n + p_lo + p_hi + d (k - 1) + s on inputs of spatial ``size``
        (:func:`position_extent`)."""
        return position_extent(size, [sum(pair) for pair in self.pads], self.dilation,
                               self.kernel_size, self.stride)


@dataclass(frozen=True)
class PoolGeometry:
    """The static parameters of a pooling kernel: window, stride, symmetric padding, dilation."""

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    dtype: np.dtype = field(default=np.dtype(np.float32))

    def __post_init__(self) -> None:
        _per_axis(self, ("kernel_size", "stride", "dilation"), minimum=1)
        _per_axis(self, ("padding",), minimum=0)
        object.__setattr__(self, "dtype", _check_dtype(self.dtype))

    @classmethod
    def of(cls, spec: PoolSpec, dtype: np.dtype) -> PoolGeometry:
        return cls(spec.kernel_size, spec.stride, spec.padding, spec.dilation, dtype)

    @property
    def dims(self) -> int:
        return len(self.kernel_size)

    def tag(self) -> str:
        return join(f"k{axes(self.kernel_size)}", f"s{collapsed(self.stride)}",
                    f"p{collapsed(self.padding)}", f"d{collapsed(self.dilation)}")

    def describe(self) -> str:
        return (f"kernel {self.kernel_size}, stride {self.stride}, padding {self.padding}, "
                f"dilation {self.dilation}")

    def axis(self, a: int) -> dict[str, int]:
        return dict(k=self.kernel_size[a], s=self.stride[a], d=self.dilation[a],
                    p=self.padding[a])

    def extent(self, size: Sequence[int]) -> int:
        """max over the axes of n + 2p + d (k - 1) + s on inputs of spatial ``size``
        (:func:`position_extent`)."""
        return position_extent(size, [2 * p for p in self.padding], self.dilation,
                               self.kernel_size, self.stride)


def position_extent(size: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
                    kernel_size: Sequence[int], stride: Sequence[int]) -> int:
    """max over the axes of n + p + d (k - 1) + s, p the padding of both ends: a bound on every
    position a kernel forms along an axis (s i - p_lo + d t, for an output i whose window
    starts before n + p_lo) and on every partial sum and product in it, so a 32-bit variant
    must hold it too (:data:`INDEX32_ELEMENTS`); padding, stride and dilation are printed
    into the source as constants, which nothing else bounds."""
    return max(n + p + d * (k - 1) + s
               for n, p, d, k, s in zip(size, padding, dilation, kernel_size, stride))


# --------------------------------------------------------------------------------------------
# Pieces of C text
# --------------------------------------------------------------------------------------------

def var(name: str, axis: int | None = None) -> sympy.Symbol:
    """The integer symbol a kernel prints as ``name`` (``name{axis}`` along an axis)."""
    return dv.variable(name, axis)


def indent(lines: Sequence[str], depth: int) -> str:
    """The lines joined, each indented by ``depth`` levels of four spaces (empty lines kept
    empty)."""
    return "\n".join(("    " * depth + line) if line else "" for line in lines)


def product(names: Sequence[str]) -> str:
    """The C product n0 * n1 * ... of ``names`` (1 for none)."""
    return " * ".join(names) if names else "1"


def sizes(prefix: str, dims: int) -> list[str]:
    """n0, n1, ... (the C names of a size along every axis)."""
    return [f"{prefix}{a}" for a in range(dims)]


def decode(flat: str, parts: Sequence[tuple[str, str]], rest: str = "rest") -> list[str]:
    """Split ``flat`` into ``parts`` = [(name, size), ...], the last part fastest; the first
    part takes what is left (its size is not used).  Every operand is non-negative, so C's
    / and % are floor division and modulo here."""
    lines = [f"long long {rest} = {flat};"]
    for name, size in reversed(parts[1:]):
        lines += [f"const long long {name} = {rest} % {size};", f"{rest} /= {size};"]
    return lines + [f"const long long {parts[0][0]} = {rest};"]


def axes_of(prefix: str, size_prefix: str, dims: int) -> list[tuple[str, str]]:
    """[(prefix0, size_prefix0), ...]: the parts of a multi-index for :func:`decode`."""
    return list(zip(sizes(prefix, dims), sizes(size_prefix, dims)))


def static_decode(flat: str, names: Sequence[str], extents: Sequence[int]) -> list[str]:
    """``flat`` in [0, prod(extents)) split into ``names``, last fastest (static divisors)."""
    return [f"const long long {name} = ({flat} / {math.prod(extents[a + 1:])}) % {extents[a]};"
            for a, name in enumerate(names)]


def horner(base: str, terms: Sequence[tuple[str, str]]) -> str:
    """(base * s0 + t0) * s1 + t1 ...: the row-major offset of (base, t0, t1, ...)."""
    text = base
    for index, size in terms:
        text = f"({text}) * {size} + {index}"
    return text


def header(name: str, summary: str, derived: Sequence[dv.Derived], static: str,
           ctype: str) -> str:
    """The comment naming the theorems and expressions a kernel was printed from, and the
    prelude of integer functions."""
    lines = [f"// {name}: {summary}",
             "// Index expressions printed by convproof.codegen from the derivations:"]
    lines += [f"//   {d.line()}" for d in derived] or ["//   (none: a plain loop)"]
    lines += [f"// Static parameters: {static}; float type {ctype}.",
              "// Index arithmetic in long long; counters inside a tile in int."]
    return "\n".join(lines) + "\n" + PRELUDE


def signature(params: Sequence[Param]) -> str:
    """The C parameter list of a kernel, pointers marked ``__restrict__``."""
    return ",\n    ".join(f"{p.ctype} __restrict__ {p.name}" if p.pointer else
                          f"{p.ctype} {p.name}" for p in params)


def float_params(ctype: str, pointers: Sequence[tuple[str, bool]], scalars: Sequence[str]
                 ) -> tuple[Param, ...]:
    """(name, written) pointers of the float type, then long long scalars."""
    made = [Param(name, f"{ctype}*" if written else f"const {ctype}*")
            for name, written in pointers]
    return tuple(made + [Param(name, "long long") for name in scalars])


def index_param(name: str, written: bool) -> Param:
    """A pointer to int64 indices."""
    return Param(name, "long long*" if written else "const long long*")


def epilogue(pr: CudaPrinter, bias: bool, activation: str, channel: str,
             acc: str = "acc") -> tuple[str, str]:
    """The value v (the sum ``acc`` plus the bias) and the activation applied to v."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    value = f"{acc} + bias[{channel}]" if bias else acc
    return value, pr.real(ACTIVATIONS[activation])


def epilogue_tag(bias: bool, activation: str) -> str:
    """The part of a kernel name that says its epilogue: bias, relu, bias_relu or nothing."""
    return join("bias" if bias else "", "" if activation == "identity" else activation)


# --------------------------------------------------------------------------------------------
# Slots shared by several skeletons
# --------------------------------------------------------------------------------------------

@dataclass
class Slots:
    """The printer of a kernel and the derivations its printed pieces came from."""

    pr: CudaPrinter
    derived: list[dv.Derived] = field(default_factory=list)

    def use(self, derived: dv.Derived) -> Expr:
        if derived not in self.derived:
            self.derived.append(derived)
        return derived.expr

    def guarded(self, condition: Expr, statement: str) -> str:
        """``statement`` under the brackets ``condition`` (none: the statement alone)."""
        return statement if condition == 1 else f"if ({self.pr.condition(condition)}) {statement}"

    def forward_position(self, axis: int, static: dict[str, int], flip: bool = False,
                         read: Callable[[], dv.Derived] = dv.forward_read) -> Expr:
        """j = s·i + d·m - p along ``axis`` (m -> k - 1 - m for the true convolution)."""
        expr = self.use(read())
        if flip:
            tap = next(symbol for symbol in expr.free_symbols if symbol.name == "m")
            expr = expr.subs(tap, self.use(dv.flipped_tap()))
        return dv.per_axis(expr, i=var("i", axis), m=var("m", axis), s=static["s"],
                           d=static["d"], p=static["p"], k=static["k"])

    def read(self, mode: str, axis: int, position: sympy.Symbol) -> tuple[list[str], Expr, str]:
        """Reading the padded input at ``position`` (relative to the input) along ``axis``.

        zeros: no line, the bracket [0 <= j < n] and the pixel j itself; reflect, replicate,
        circular: q = j inside the input, else pi(j) (the mode's source map), no bracket.
        """
        size = var("n", axis)
        if mode == "zeros":
            return [], in_range(position, size), position.name
        pi = dv.per_axis(self.use(dv.padding_source(mode)), t=position, n=size)
        inside = self.pr.condition(in_range(position, size))
        source = f"q{axis}"
        line = (f"const long long {source} = ({inside}) ? {position.name} : "
                f"{self.pr.index(pi)};")
        return [line], sympy.Integer(1), source

    def padded_reads(self, mode: str, positions: Sequence[tuple[sympy.Symbol, Expr]]
                     ) -> tuple[list[str], Expr, list[str]]:
        """Every axis of a read: the lines that define each position and its source pixel,
        the bracket of the read (zeros) and the names of the source pixels."""
        lines, condition, sources = [], sympy.Integer(1), []
        for axis, (name, position) in enumerate(positions):
            lines.append(f"const long long {name} = {self.pr.index(position)};")
            read, bracket, source = self.read(mode, axis, name)
            lines += read
            condition *= bracket
            sources.append(source)
        return lines, condition, sources

    def candidates(self, mode: str, axis: int, pads: tuple[int, int]) -> tuple[list[str], bool]:
        """The positions u (relative to the input) whose padded value P^T adds onto pixel t.

        u = t itself, and for reflect/replicate/circular every border position u in
        [-p_lo, 0) or [n, n + p_hi) with pi(u) = t.  Returns the lines that open the loop
        (or define u = t) and whether they opened a block.
        """
        t, u, size = var("t", axis), f"u{axis}", var("n", axis)
        lo, hi = pads
        if mode == "zeros" or lo + hi == 0:
            return [f"const long long {u} = {t};"], False
        pi = dv.per_axis(self.use(dv.padding_source(mode)), t=var("u", axis), n=size)
        copies = self.pr.condition(EqZero(pi - t))
        r = f"r{axis}"
        return [f"for (long long {r} = 0; {r} <= {lo + hi}; ++{r}) {{",
                f"    const long long {u} = {r} == 0 ? {t} : ({r} <= {lo} ? {r} - {lo + 1} "
                f": {size} + {r} - {lo + 1});",
                f"    if ({r} > 0 && !({copies})) continue;"], True

    def gather(self, axis: int, static: dict[str, int], position: sympy.Symbol) -> list[str]:
        """For tap m of an axis: the output i{axis} whose window reaches ``position`` via m.

        num = j + p - d·m (grad-input-flip); the tap counts when [s | num] and
        0 <= num/s < o, and then i = (j + p - d·m)/s.  The lines ``continue`` the tap loop
        when the tap does not count.
        """
        numerator = self.use(dv.gather_numerator())
        num = var("num", axis)
        values = dict(j=position, m=var("m", axis), d=static["d"], p=static["p"],
                      s=static["s"], num=num)
        index = self.use(dv.gather_index()).subs(numerator, sympy.Symbol("num", integer=True))
        index = dv.per_axis(index, **values)
        counts = Divides(static["s"], num) * in_range(index, var("o", axis))
        return [f"const long long {num} = {self.pr.index(dv.per_axis(numerator, **values))};",
                f"if (!({self.pr.condition(counts)})) continue;",
                f"const long long i{axis} = {self.pr.index(index)};"]


# --------------------------------------------------------------------------------------------
# The elementwise skeleton: one thread per output element, grid-stride
# --------------------------------------------------------------------------------------------

ELEMENTWISE = Template("""\
extern "C" __global__ void $name(
    $signature)
{
$setup
    const long long total = $total;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
$decode
$taps
$epilogue
    }
}
""")


def slots_for(dtype: np.typing.DTypeLike) -> tuple[str, Slots]:
    """(ctype, slots): the C float type of ``dtype`` and fresh slots printing in it."""
    ctype = c_type(dtype)
    return ctype, Slots(printer(ctype))


def elementwise(name: str, summary: str, static: str, ctype: str, slots: Slots,
                params: Sequence[Param], total: str, decode_lines: Sequence[str],
                taps: Sequence[str], epilogue_lines: Sequence[str],
                setup: Sequence[str] = ()) -> Kernel:
    """A kernel of the elementwise skeleton, its slots filled."""
    body = ELEMENTWISE.substitute(
        name=name, signature=signature(params), setup=indent(setup, 1), total=total,
        decode=indent(decode_lines, 2), taps=indent(taps, 2),
        epilogue=indent(epilogue_lines, 2))
    source = header(name, summary, slots.derived, static, ctype) + "\n" + body
    return Kernel(name, source, tuple(params), THREADS, tuple(slots.derived))


def nest(levels: Sequence[tuple[list[str], bool]], body: Sequence[str]) -> list[str]:
    """Nested levels (lines, whether they open a block) around ``body``, closed in order."""
    lines, depth = [], 0
    for opening, opens in levels:
        lines += ["    " * depth + line for line in opening]
        depth += opens
    lines += ["    " * depth + line for line in body]
    for level in reversed(range(depth)):
        lines.append("    " * level + "}")
    return lines


def tap_loop(axis: int, k: int, inner: Sequence[str]) -> tuple[list[str], bool]:
    """for m{axis} in [0, k), with ``inner`` at the top of the loop body."""
    return [f"for (long long m{axis} = 0; m{axis} < {k}; ++m{axis}) {{",
            *("    " + line for line in inner)], True


__all__ = [
    "ACTIVATIONS", "ConvGeometry", "ELEMENTWISE", "ELEMENT_TYPES", "INDEX32_ELEMENTS", "Kernel",
    "Param", "PoolGeometry", "Slots", "THREADS", "TILES", "Tile", "axes_of", "decode",
    "elementwise", "epilogue", "epilogue_tag", "float_params", "header", "horner", "indent",
    "index_param", "ints", "narrow_indices", "nest", "product", "signature", "sizes",
    "static_decode", "tap_loop", "tile_for", "tile_table", "var",
]
