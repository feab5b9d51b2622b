"""The operators of convolution as defined signals over symbolic sizes.

Notation (the report's): spatial indices and sizes are multi-indices (Z^D, componentwise);
an input x has entries x[b, g, c, j] for batch b, group g, channel c within the group and
position j (the flat channel is g·C_in/G + c, a bijection); a weight w[g, o, c, m] is the flat
weight w[g·C_out/G + o, c, m].  With stride s, dilation d, padding (p, q) = (p_lo, p_hi):

    x̃[b, g, c, j] = [0 ≤ j ≤ n - 1] x[b, g, c, j]                                zero extension
    corr(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] w[g, o, c, m] x̃[b, g, c, s·i + d·m - p]
    conv(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] w[g, o, c, m] x̃[b, g, c, s·i + d·(k-1-m) - p]
    convT(y)[b, g, c, j] = [j ∈ N'] Σ_o Σ_i Σ_m [o ∈ C_out][i ∈ O][m ∈ K] w[g, o, c, m]
                           y[b, g, o, i] [j = s·i + d·m - p]                       (a scatter)
    ∇w[g, o, c, m] = Σ_b Σ_i [b ∈ B][i ∈ O] g[b, g, o, i] x̃[b, g, c, s·i + d·m - p]
    ∇b[g, o] = Σ_b Σ_i [b ∈ B][i ∈ O] g[b, g, o, i]

where O = [0, o - 1] with o = floor((n + p + q - d(k - 1) - 1)/s) + 1 (from ConvSpec) and
N' = [0, n' - 1] with n' = (o - 1)s - p - q + d(k - 1) + a + 1 (a = output_padding).
The index maps s·i + d·m - p are the ones the kernels print (:mod:`.indexmaps`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy
from sympy import Expr

from ..spec import ConvSpec
from . import indexmaps
from .language import Signal, eq, in_range, multi, scalar, zsum


@dataclass
class Setting:
    """Every size of a grouped, batched, strided, dilated, padded N-d convolution."""

    n: Expr = field(default_factory=lambda: multi("n", positive=True))
    k: Expr = field(default_factory=lambda: multi("k", positive=True))
    s: Expr = field(default_factory=lambda: multi("s", positive=True))
    d: Expr = field(default_factory=lambda: multi("d", positive=True))
    p: Expr = field(default_factory=lambda: multi("p", nonnegative=True))
    q: Expr = field(default_factory=lambda: multi("q", nonnegative=True))
    a: Expr = field(default_factory=lambda: multi("a", nonnegative=True))
    batch: Expr = field(default_factory=lambda: scalar("B", positive=True))
    groups: Expr = field(default_factory=lambda: scalar("G", positive=True))
    c_in: Expr = field(default_factory=lambda: scalar("C_i", positive=True))
    c_out: Expr = field(default_factory=lambda: scalar("C_o", positive=True))

    @property
    def spec(self) -> ConvSpec:
        return ConvSpec(
            self.groups * self.c_in,
            self.groups * self.c_out,
            (self.k,),
            stride=(self.s,),
            padding=((self.p, self.q),),
            dilation=(self.d,),
            groups=self.groups,
            output_padding=(self.a,) if self.a != 0 else 0,
        )

    @property
    def out(self) -> Expr:
        """o = floor((n + p + q - d(k-1) - 1)/s) + 1, straight from ConvSpec.output_size."""
        return self.spec.output_size((self.n,))[0]

    @property
    def transposed_size(self) -> Expr:
        """n' = (o - 1)s - p - q + d(k - 1) + a + 1, from ConvSpec.transposed_output_size."""
        return self.spec.transposed_output_size((self.out,))[0]

    @property
    def unused(self) -> Expr:
        """(n + p + q - d(k - 1) - 1) mod s: the rows the floor rule leaves out."""
        return self.spec.unused((self.n,))[0]

    # index boxes
    def batches(self, b) -> Expr:
        return in_range(b, self.batch)

    def group_box(self, g) -> Expr:
        return in_range(g, self.groups)

    def inputs(self, c) -> Expr:
        return in_range(c, self.c_in)

    def outputs(self, o) -> Expr:
        return in_range(o, self.c_out)

    def taps(self, m) -> Expr:
        return in_range(m, self.k)

    def positions(self, i) -> Expr:
        return in_range(i, self.out)

    def pixels(self, j) -> Expr:
        return in_range(j, self.n)

    def input_index(self, i, m) -> Expr:
        return indexmaps.forward_input_index(i, m, self.s, self.d, self.p)


# shared bound variables of the definitions (fresh names are made when they could clash)
b, g, c, o = scalar("b g c o")
i, j, m = multi("i j m")


def _operand(signal: Signal) -> str:
    """The signal's LaTeX form, in parentheses when it is a sum (τ_t (y + β), not τ_t y + β)."""
    label = signal.latex
    return rf"\left({label}\right)" if "+" in label or "-" in label else label


def correlation(x: Signal, w: Signal, st: Setting, name: str = "corr") -> Signal:
    """corr(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] w[g, o, c, m] x̃[b, g, c, s·i + d·m - p]."""

    def entry(b_, g_, o_, i_):
        j_ = st.input_index(i_, m)
        return zsum(
            st.inputs(c) * st.taps(m) * w[g_, o_, c, m] * st.pixels(j_) * x[b_, g_, c, j_], c, m
        )

    return Signal(name, rf"\operatorname{{corr}}({x.latex}, {w.latex})", entry, arity=4)


def convolution(x: Signal, w: Signal, st: Setting, name: str = "conv") -> Signal:
    """conv(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] w[g, o, c, m] x̃[b, g, c, j], with the
    read position j = s·i + d·(k - 1 - m) - p (the taps in reverse order)."""

    def entry(b_, g_, o_, i_):
        j_ = st.input_index(i_, st.k - 1 - m)
        return zsum(
            st.inputs(c) * st.taps(m) * w[g_, o_, c, m] * st.pixels(j_) * x[b_, g_, c, j_], c, m
        )

    return Signal(name, rf"\operatorname{{conv}}({x.latex}, {w.latex})", entry, arity=4)


def transposed(y: Signal, w: Signal, st: Setting, name: str = "convT") -> Signal:
    """convT(y)[b, g, c, j] = [j ∈ N'] Σ_o Σ_i Σ_m w[g, o, c, m] y[b, g, o, i] [j = s·i + d·m - p]
    (a scatter)."""

    def entry(b_, g_, c_, j_):
        return in_range(j_, st.transposed_size) * zsum(
            st.outputs(o)
            * st.positions(i)
            * st.taps(m)
            * w[g_, o, c_, m]
            * y[b_, g_, o, i]
            * eq(j_, st.input_index(i, m)),
            o,
            i,
            m,
        )

    return Signal(name, rf"\operatorname{{conv}}^{{T}}({y.latex}, {w.latex})", entry, arity=4)


def weight_gradient(x: Signal, gy: Signal, st: Setting, name: str = "gradw") -> Signal:
    """∇w[g, o, c, m] = [c ∈ C_in][m ∈ K] Σ_b Σ_i g[b, g, o, i] x̃[b, g, c, s·i + d·m - p]."""

    def entry(g_, o_, c_, m_):
        j_ = st.input_index(i, m_)
        return (
            st.inputs(c_)
            * st.taps(m_)
            * zsum(
                st.batches(b)
                * st.positions(i)
                * gy[b, g_, o_, i]
                * st.pixels(j_)
                * x[b, g_, c_, j_],
                b,
                i,
            )
        )

    return Signal(name, r"\nabla_{w}", entry, arity=4)


def bias_gradient(gy: Signal, st: Setting, name: str = "gradb") -> Signal:
    """∇b[g, o] = Σ_b Σ_i [b ∈ B][i ∈ O] g[b, g, o, i]."""
    return Signal(
        name,
        r"\nabla_{b}",
        lambda g_, o_: zsum(st.batches(b) * st.positions(i) * gy[b, g_, o_, i], b, i),
        arity=2,
    )


# --------------------------------------------------------------------------------------------
# Shifts, flips and the infinite and circular settings
# --------------------------------------------------------------------------------------------


def _shift_latex(t: Expr) -> str:
    """The shift as its operator's subscript: τ_{s t}, not τ_t, for a shift by s·t."""
    return sympy.latex(sympy.sympify(t))


def shifted(x: Signal, t: Expr, name: str | None = None) -> Signal:
    """(τ_t x)[b, g, c, j] = x[b, g, c, j - t]: the signal moved by t (on all of Z^D)."""
    label = _operand(x)
    return Signal(
        name or f"tau({x.name})",
        rf"\tau_{{{_shift_latex(t)}}} {label}",
        lambda b_, g_, c_, j_: x[b_, g_, c_, j_ - t],
        arity=4,
    )


def framed_shift(x: Signal, t: Expr, st: Setting, name: str | None = None) -> Signal:
    """(σ_t x)[b, g, c, j] = [j ∈ N] x̃[b, g, c, j - t]: moved by t within the frame [0, n),
    what leaves the frame is lost and what enters is zero."""
    label = _operand(x)
    return Signal(
        name or f"sigma({x.name})",
        rf"\sigma_{{{_shift_latex(t)}}} {label}",
        lambda b_, g_, c_, j_: st.pixels(j_) * st.pixels(j_ - t) * x[b_, g_, c_, j_ - t],
        arity=4,
    )


def infinite_correlation(x: Signal, w: Signal, st: Setting, name: str = "corr_inf") -> Signal:
    """corr(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] w[g, o, c, m] x[b, g, c, s·i + d·m - p]
    for a signal on all of Z^D (no border)."""

    def entry(b_, g_, o_, i_):
        j_ = st.input_index(i_, m)
        return zsum(st.inputs(c) * st.taps(m) * w[g_, o_, c, m] * x[b_, g_, c, j_], c, m)

    return Signal(name, rf"\operatorname{{corr}}({x.latex}, {w.latex})", entry, arity=4)


def flipped(w: Signal, st: Setting, name: str | None = None) -> Signal:
    """flip(w)[g, o, c, m] = [m ∈ K] w[g, o, c, k - 1 - m]: every spatial axis reversed,
    channel axes untouched."""
    return Signal(
        name or f"flip({w.name})",
        rf"\operatorname{{flip}}({w.latex})",
        lambda g_, o_, c_, m_: st.taps(m_) * w[g_, o_, c_, indexmaps.flipped_tap(m_, st.k)],
        arity=4,
    )


def circular_correlation(x: Signal, w: Signal, st: Setting, name: str = "circ") -> Signal:
    """circ(x)[b, g, o, i] = Σ_c Σ_m [c ∈ C_in][m ∈ K] w[g, o, c, m] x[b, g, c, j mod n] with
    j = s·i + d·m - p: circular padding wraps the read position around the input."""

    def entry(b_, g_, o_, i_):
        j_ = sympy.Mod(st.input_index(i_, m), st.n)
        return zsum(st.inputs(c) * st.taps(m) * w[g_, o_, c, m] * x[b_, g_, c, j_], c, m)

    return Signal(name, rf"\operatorname{{circ}}({x.latex}, {w.latex})", entry, arity=4)


def circular_shift(
    x: Signal, t: Expr, st: Setting, size: Expr | None = None, name: str | None = None
) -> Signal:
    """(ρ_t x)[b, g, c, j] = x[b, g, c, (j - t) mod n]: the signal rotated by t."""
    period = st.n if size is None else size
    label = _operand(x)
    return Signal(
        name or f"rho({x.name})",
        rf"\rho_{{{_shift_latex(t)}}} {label}",
        lambda b_, g_, c_, j_: x[b_, g_, c_, sympy.Mod(j_ - t, period)],
        arity=4,
    )


def output_inner(y_entry, z: Signal, st: Setting) -> Expr:
    """⟨y, z⟩ over the output space (b, g, o, i)."""
    return zsum(
        st.batches(b)
        * st.group_box(g)
        * st.outputs(o)
        * st.positions(i)
        * y_entry(b, g, o, i)
        * z[b, g, o, i],
        b,
        g,
        o,
        i,
    )


def input_inner(x_entry, u: Signal, st: Setting) -> Expr:
    """⟨x, u⟩ over the input space (b, g, c, j)."""
    return zsum(
        st.batches(b)
        * st.group_box(g)
        * st.inputs(c)
        * st.pixels(j)
        * x_entry(b, g, c, j)
        * u[b, g, c, j],
        b,
        g,
        c,
        j,
    )


__all__ = [
    "Setting",
    "correlation",
    "convolution",
    "transposed",
    "weight_gradient",
    "bias_gradient",
    "output_inner",
    "input_inner",
    "shifted",
    "framed_shift",
    "infinite_correlation",
    "flipped",
    "circular_correlation",
    "circular_shift",
    "b",
    "g",
    "c",
    "o",
    "i",
    "j",
    "m",
]
