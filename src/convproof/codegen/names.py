"""Kernel names: every static parameter of a kernel, readable.

    conv2d_fwd_k3x3_s1_p1_d1_g1_f32_t64x64      conv_transpose2d_k4x4_s2_p1_d1_g1_bias_relu_f64
    conv2d_bwd_data_k3x3_s2_plo1x0_phi0x1_d1_g2_reflect_f32
    max_pool2d_fwd_k3x3_s2_p1_d1_f32            avg_pool2d_bwd_k3x3_s2_p1_cip_f64

The kernel size lists every axis (k3x3); stride, padding and dilation collapse to one number
when all axes agree (s1, s1x2); asymmetric padding lists its two sides (plo1x0_phi0x1); a
padding mode other than zeros, a bias, an activation other than identity and a tile shape
add a tag.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DTYPE_TAGS = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def axes(values: Sequence[int]) -> str:
    """3x3 for (3, 3): every axis listed."""
    return "x".join(str(int(v)) for v in values)


def collapsed(values: Sequence[int]) -> str:
    """One number when every axis agrees (s1), else the axis list (s1x2)."""
    return str(int(values[0])) if len(set(values)) == 1 else axes(values)


def padding_tag(pads: Sequence[tuple[int, int]]) -> str:
    """p1 | p1x2 for symmetric pads, plo1x0_phi0x1 when some axis pads its sides differently."""
    lows, highs = [lo for lo, _ in pads], [hi for _, hi in pads]
    if lows == highs:
        return f"p{collapsed(lows)}"
    return f"plo{collapsed(lows)}_phi{collapsed(highs)}"


def _supported(dtype: np.dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in DTYPE_TAGS:
        raise TypeError(f"dtype {dtype} has no kernels; supported: float32, float64")
    return dtype


def dtype_tag(dtype: np.dtype) -> str:
    """f32 | f64."""
    return DTYPE_TAGS[_supported(dtype)]


def c_type(dtype: np.dtype) -> str:
    """float | double: the C type of a kernel's arrays."""
    return C_TYPES[_supported(dtype)]


def join(*parts: str) -> str:
    """The parts that are not empty, joined by underscores."""
    return "_".join(part for part in parts if part)


__all__ = ["C_TYPES", "DTYPE_TAGS", "axes", "c_type", "collapsed", "dtype_tag", "join",
           "padding_tag"]
