"""Pooling as correlations, for the backward pass: average pooling with its constant kernel,
max pooling as the selection of one tap per window.

Pooling keeps the channels: with the sizes of a :class:`Setting` whose output channels are its
input channels (:func:`pool_setting`; read G·C_i as the channel count, or G = 1),

    avg(x)[b, g, c, i]  = (1/|K|) Σ_m [m ∈ K] x̃[b, g, c, s·i + d·m - p]   (count_include_pad)
    box[g, o, c, m]     = [m ∈ K][o = c] / |K|                            its kernel
    sel_S(x)[b, g, c, i] = Σ_m [m ∈ K] S[b, g, c, i, m] x̃[b, g, c, s·i + d·m - p]
    route_S(G)[b, g, c, j] = Σ_{i,m} [i ∈ O][m ∈ K] S[b, g, c, i, m] G[b, g, c, i]
                             · [j = s·i + d·m - p]

with S one-hot per window (S[..., i, m] = 1 for the chosen tap m of window i) and |K| = Π_a k_a
a scalar symbol (the number of taps: a product over the axes).  Max pooling is sel_S with S the
first maximum of each window (:func:`first_maximum`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence

import numpy as np
from sympy import Expr

from . import indexmaps
from .language import Signal, eq, zsum
from .operators import Setting, i, m


def pool_setting(st: Setting) -> Setting:
    """The sizes of a pool: as many output channels as input channels."""
    return dataclasses.replace(st, c_out=st.c_in)


def average_pool(x: Signal, st: Setting, volume: Expr, name: str = "avg") -> Signal:
    """avg(x)[b, g, c, i] = (1/|K|) Σ_m [m ∈ K] x̃[b, g, c, s·i + d·m - p]."""
    def entry(b_, g_, c_, i_):
        j_ = st.input_index(i_, m)
        return zsum(st.taps(m) * st.pixels(j_) * x[b_, g_, c_, j_], m) / volume
    return Signal(name, rf"\operatorname{{avg}}({x.latex})", entry, arity=4)


def box_kernel(st: Setting, volume: Expr, name: str = "box") -> Signal:
    """box[g, o, c, m] = [m ∈ K][o = c] / |K|: the constant kernel, channel by channel."""
    return Signal(name, r"\tfrac{1}{|K|}", lambda g_, o_, c_, m_: st.taps(m_) * eq(o_, c_) / volume,
                  arity=4)


def selection_pool(x: Signal, selection: Signal, st: Setting, name: str = "sel") -> Signal:
    """sel_S(x)[b, g, c, i] = Σ_m [m ∈ K] S[b, g, c, i, m] x̃[b, g, c, s·i + d·m - p]."""
    def entry(b_, g_, c_, i_):
        j_ = st.input_index(i_, m)
        return zsum(st.taps(m) * selection[b_, g_, c_, i_, m] * st.pixels(j_)
                    * x[b_, g_, c_, j_], m)
    return Signal(name, rf"\operatorname{{sel}}_S({x.latex})", entry, arity=4)


def routed(grad: Signal, selection: Signal, st: Setting, name: str = "route") -> Signal:
    """route_S(G)[b, g, c, j] = Σ_{i,m} [i ∈ O][m ∈ K] S[b, g, c, i, m] G[b, g, c, i]
    [j = s·i + d·m - p]: the error of every window goes to its chosen tap, summed."""
    def entry(b_, g_, c_, j_):
        return zsum(st.positions(i) * st.taps(m) * selection[b_, g_, c_, i, m]
                    * grad[b_, g_, c_, i] * eq(j_, st.input_index(i, m)), i, m)
    return Signal(name, rf"\operatorname{{route}}_S({grad.latex})", entry,
                  arity=4)


def first_maximum(values: Sequence[float | None]) -> int | None:
    """The tap chosen by the tie rule: S_m = Π_{m' < m} [v_m > v_m'] Π_{m' > m} [v_m ≥ v_m'],
    taps in row-major window order, None (-∞, a tap in the padding) never chosen."""
    for tap, v in enumerate(values):
        if v is None:
            continue
        if all(w is None or v > w for w in values[:tap]) and \
                all(w is None or v >= w for w in values[tap + 1:]):
            return tap
    return None


def tie_rule_selection(x: np.ndarray, n: Sequence[int], k: Sequence[int], s: Sequence[int],
                       d: Sequence[int], p: Sequence[int], out: Sequence[int],
                       choose: Callable[[list], int | None] = first_maximum) -> dict:
    """{(b, c, *i, *m): 1} for the tap m that max pooling selects in window i of x[b, c]
    (``choose`` picks it from the window's values in row-major order, None for padding)."""
    taps = list(itertools.product(*(range(kk) for kk in k)))
    selection = {}
    for b_, c_ in np.ndindex(*x.shape[:2]):
        for position in itertools.product(*(range(o) for o in out)):
            reads = [tuple(indexmaps.forward_input_index(*axis)
                           for axis in zip(position, tap, s, d, p)) for tap in taps]
            values = [int(x[(b_, c_, *r)]) if all(0 <= a < nn for a, nn in zip(r, n)) else None
                      for r in reads]
            chosen = choose(values)
            if chosen is not None:
                selection[(b_, c_, *position, *taps[chosen])] = 1
    return selection


__all__ = ["pool_setting", "average_pool", "box_kernel", "selection_pool", "routed",
           "first_maximum", "tie_rule_selection"]
