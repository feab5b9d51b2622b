"""Per-axis index maps: the integer expressions that the definitions, the matrices and the
GPU kernels share.  Each is proved about in a theorem and printed into CUDA from there.

    forward (correlation)    j = s·i + d·m - p          input position read by output i, tap m
    true convolution         j = s·i + d·(k - 1 - m) - p
    backward data (gather)   i = (j + p - d·m) / s      when s | (j + p - d·m)
    output size              o = floor((n + p + q - d(k - 1) - 1) / s) + 1
"""

from __future__ import annotations

import sympy
from sympy import Expr


def forward_input_index(i, m, s, d, p) -> Expr:
    """j = s·i + d·m - p: the input position that tap m of output position i reads."""
    return s * i + d * m - p


def flipped_tap(m, k) -> Expr:
    """k - 1 - m: the tap of the spatially flipped kernel."""
    return k - 1 - m


def gather_numerator(j, m, d, p) -> Expr:
    """j + p - d·m: s·i for the output position i that tap m scatters onto input position j."""
    return j + p - d * m


# Padding: the source pixel pi(t) of padded position t + p_lo, per axis of size n
# (zeros has none outside [0, n); the others fold every t onto [0, n)).


def reflect_source(t: int, n: int) -> int:
    """reflect: the border pixel is not repeated; period 2(n - 1)."""
    if n == 1:
        return 0
    r = t % (2 * (n - 1))
    return r if r < n else 2 * (n - 1) - r


def replicate_source(t: int, n: int) -> int:
    """replicate: clamp to [0, n - 1]."""
    return min(max(t, 0), n - 1)


def circular_source(t: int, n: int) -> int:
    """circular: t mod n."""
    return t % n


def padding_source(mode: str, t: int, n: int) -> int | None:
    """pi(t) for a padding mode; None where zero padding reads a zero."""
    if mode == "zeros":
        return t if 0 <= t < n else None
    return {"reflect": reflect_source, "replicate": replicate_source, "circular": circular_source}[
        mode
    ](t, n)


# The same padding maps as integer expressions (what the kernels print and the proofs use):
# per axis, t = j - p_lo is the position relative to the input, n its size.


def reflect_source_expr(t: Expr, n: Expr) -> Expr:
    """(n - 1) - |(n - 1) - (t mod P)| with period P = max(2(n - 1), 1): reflection without
    repeating the border (for n = 1, where reflect allows no padding, it reads pixel 0)."""
    return (n - 1) - sympy.Abs((n - 1) - sympy.Mod(t, sympy.Max(2 * (n - 1), 1)))


def replicate_source_expr(t: Expr, n: Expr) -> Expr:
    """min(max(t, 0), n - 1)."""
    return sympy.Min(sympy.Max(t, 0), n - 1)


def circular_source_expr(t: Expr, n: Expr) -> Expr:
    """t mod n."""
    return sympy.Mod(t, n)


PADDING_SOURCE_EXPR = {
    "reflect": reflect_source_expr,
    "replicate": replicate_source_expr,
    "circular": circular_source_expr,
}
