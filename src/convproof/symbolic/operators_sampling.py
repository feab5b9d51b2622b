"""Sub-sampling and up-sampling by the stride, and the unit-stride convolution they wrap.

With the sizes of a :class:`Setting`, o_s = ⌊X/s⌋ + 1 strided and o_1 = X + 1 unit-stride output
positions (X = n + p + q - d(k - 1) - 1):

    sub_s(y)[b, g, o, i] = [i ∈ O_s] y[b, g, o, s·i]                    keep every s-th entry
    up_s(G)[b, g, o, u]  = Σ_i [i ∈ O_s][u = s·i] G[b, g, o, i]        s - 1 zeros in between

up_s is the transpose of sub_s: ⟨sub_s y, G⟩ = ⟨y, up_s G⟩ (stride-is-subsampling).
"""

from __future__ import annotations

import dataclasses

import sympy

from .language import Signal, eq, zsum
from .operators import Setting, i


def unit_stride(st: Setting) -> Setting:
    """The same convolution with stride 1 and no output padding: o_1 = n + p + q - d(k - 1)
    outputs, and its transposed convolution returns exactly n positions."""
    return dataclasses.replace(st, s=sympy.S.One, a=sympy.S.Zero)


def subsampled(y: Signal, st: Setting, name: str = "sub") -> Signal:
    """sub_s(y)[b, g, o, i] = [i ∈ O_s] y[b, g, o, s·i]."""
    return Signal(name, rf"\operatorname{{sub}}_s({y.latex})",
                  lambda b_, g_, o_, i_: st.positions(i_) * y[b_, g_, o_, st.s * i_], arity=4)


def upsampled(grad: Signal, st: Setting, name: str = "up") -> Signal:
    """up_s(G)[b, g, o, u] = Σ_i [i ∈ O_s][u = s·i] G[b, g, o, i]."""
    return Signal(name, rf"\operatorname{{up}}_s({grad.latex})",
                  lambda b_, g_, o_, u_: zsum(st.positions(i) * eq(u_, st.s * i)
                                              * grad[b_, g_, o_, i], i), arity=4)


__all__ = ["unit_stride", "subsampled", "upsampled"]
