"""Reduced-precision rounding of float32 values, bit for bit as the GPU's conversions do it
(``cvt`` in PTX): TF32, bfloat16 and float16, each returned in float64 so that the rounded
values enter exact references unchanged."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _rounded(a: np.ndarray, add: Callable[[np.ndarray], np.ndarray], keep: int) -> np.ndarray:
    """float32 ``a`` with add(bits) added to its bits and the mantissa's lowest ``keep`` bits
    cleared (infinities and NaN unchanged), in float64."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    finite = (bits & np.uint32(0x7F800000)) != np.uint32(0x7F800000)
    cleared = np.uint32((0xFFFFFFFF << keep) & 0xFFFFFFFF)
    rounded = np.where(finite, (bits + add(bits)) & cleared, bits)
    return rounded.astype(np.uint32).view(np.float32).astype(np.float64)


def round_to_tf32(a: np.ndarray) -> np.ndarray:
    """a (float32) rounded to TF32 as cvt.rna.tf32.f32 does: the nearest number with a 10-bit
    mantissa, ties away from zero (infinities and NaN unchanged), in float64."""
    return _rounded(a, lambda bits: np.uint32(0x1000), 13)


def round_to_bf16(a: np.ndarray) -> np.ndarray:
    """a (float32) rounded to bfloat16 as cvt.rn.bf16x2.f32 does: the nearest number with a
    7-bit mantissa, ties to even (infinities and NaN unchanged), in float64."""
    return _rounded(a, lambda bits: np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)),
                    16)


def round_to_fp16(a: np.ndarray) -> np.ndarray:
    """a (float32) rounded to float16 as cvt.rn.f16x2.f32 does: the nearest number with a
    10-bit mantissa and an exponent from -14 (subnormals below) to 15, ties to even, 65520
    and beyond infinite (NaN stays NaN), in float64."""
    with np.errstate(over="ignore"):
        return np.asarray(a, dtype=np.float32).astype(np.float16).astype(np.float64)


__all__ = ["round_to_bf16", "round_to_fp16", "round_to_tf32"]
