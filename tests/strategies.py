"""Hypothesis strategies for random convolution and pooling configurations.

A drawn case carries every parameter plus a seed for its array values, so that a failing
example reproduces exactly and shrinks to a small configuration (never to zero inputs: the
values are standard normal draws from the seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from convproof.spec import PADDING_MODES, ConvSpec, PoolSpec

# Largest spatial input and kernel per number of dims: small enough for the float64 oracle.
MAX_SIZE = {1: 14, 2: 8, 3: 5}
MAX_KERNEL = {1: 5, 2: 3, 3: 3}


@dataclass(frozen=True)
class ConvCase:
    """One convolution configuration: (N, C_in, *size) input, forward spec, array seed."""

    batch: int
    size: tuple[int, ...]
    spec: ConvSpec
    seed: int = field(compare=False)

    @property
    def dims(self) -> int:
        return self.spec.dims

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, self.spec.in_channels, *self.size)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, self.spec.out_channels, *self.spec.output_size(self.size))

    @property
    def kwargs(self) -> dict:
        """Keyword arguments of the functional conv (padding as explicit (lo, hi) pairs)."""
        s = self.spec
        return dict(stride=s.stride, padding=s.pads(self.size), dilation=s.dilation,
                    groups=s.groups, padding_mode=s.padding_mode)

    def arrays(self, dtype=np.float64):
        """Fresh standard-normal input, weight, bias and output gradient for this case."""
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal(self.input_shape)
        w = rng.standard_normal(self.spec.weight_shape)
        b = rng.standard_normal(self.spec.out_channels)
        g = rng.standard_normal(self.output_shape)
        return tuple(a.astype(dtype) for a in (x, w, b, g))


@st.composite
def conv_cases(draw, dims=(1, 2, 3), modes=PADDING_MODES, max_stride: int = 3,
               max_dilation: int = 2, output_padding: bool = False) -> ConvCase:
    """A random valid convolution: groups, asymmetric padding, stride, dilation, any mode.

    With ``output_padding=True`` the spec also carries an output_padding in [0, max(s, d)),
    and the padding is one that a transposed convolution accepts (explicit pairs).
    """
    d = draw(st.sampled_from(dims))
    mode = draw(st.sampled_from(modes))
    groups = draw(st.integers(1, 3))
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, MAX_KERNEL[d])) for _ in range(d))
    stride = tuple(draw(st.integers(1, max_stride)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, max_dilation)) for _ in range(d))
    size = tuple(draw(st.integers(1, MAX_SIZE[d])) for _ in range(d))
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 3)
    padding = tuple(
        (draw(st.integers(0, min(3, limit(n)))), draw(st.integers(0, min(3, limit(n)))))
        for n in size
    )
    for n, (lo, hi), k, dl in zip(size, padding, kernel, dilation):
        assume(n + lo + hi >= dl * (k - 1) + 1)
    extra = {}
    if output_padding:
        extra["output_padding"] = tuple(draw(st.integers(0, max(s, dl) - 1))
                                        for s, dl in zip(stride, dilation))
    spec = ConvSpec(in_channels, out_channels, kernel, stride=stride, padding=padding,
                    dilation=dilation, groups=groups, padding_mode=mode, **extra)
    return ConvCase(batch=draw(st.integers(1, 2)), size=size, spec=spec,
                    seed=draw(st.integers(0, 2**32 - 1)))


def widened(case: ConvCase, filters: int, inputs: int | None = None) -> ConvCase:
    """``case`` with ``filters`` output channels a group and ``inputs`` input channels a group
    (by default just enough for 16 columns C_in/G x taps): groups wide enough for the GPU's
    GEMMs of the weight gradient and its tensor cores."""
    spec = case.spec
    inputs = inputs or -(-16 // math.prod(spec.kernel_size))
    return replace(case, spec=replace(spec, in_channels=spec.groups * inputs,
                                      out_channels=spec.groups * filters))


@dataclass(frozen=True)
class PoolCase:
    """One pooling configuration: (N, C, *size) input and its window."""

    batch: int
    channels: int
    size: tuple[int, ...]
    spec: PoolSpec
    seed: int = field(compare=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels, *self.size)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels, *self.spec.output_size(self.size))

    def arrays(self, dtype=np.float64):
        """Fresh input and output gradient; the input is continuous, so windows have no ties."""
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal(self.input_shape)
        g = rng.standard_normal(self.output_shape)
        return x.astype(dtype), g.astype(dtype)


@st.composite
def pool_cases(draw, dims=(1, 2, 3), dilation: bool = True) -> PoolCase:
    """A random valid pooling window: stride, padding <= k/2, dilation, ceil_mode (which lets
    the window span up to s - 1 more than the padded input)."""
    d = draw(st.sampled_from(dims))
    kernel = tuple(draw(st.integers(1, MAX_KERNEL[d])) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(st.integers(1, 2)) if dilation else 1 for _ in range(d))
    size = tuple(draw(st.integers(1, MAX_SIZE[d])) for _ in range(d))
    ceil_mode = draw(st.booleans())
    for n, k, s, p, dl in zip(size, kernel, stride, padding, dil):
        assume(n + 2 * p + (s - 1 if ceil_mode else 0) >= dl * (k - 1) + 1)
    spec = PoolSpec(kernel, stride, padding, dil, ceil_mode=ceil_mode)
    return PoolCase(batch=draw(st.integers(1, 2)), channels=draw(st.integers(1, 3)), size=size,
                    spec=spec, seed=draw(st.integers(0, 2**32 - 1)))


OVERHANG = PoolCase(batch=2, channels=2, size=(3, 2), spec=PoolSpec((4, 3), 2, ceil_mode=True),
                    seed=20261124)
"""ceil_mode windows that span one more position than the input on both axes (one output
each): PyTorch allows up to stride - 1."""
