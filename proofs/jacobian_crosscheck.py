"""jacobian-crosscheck: every forward operator's Jacobian is its backward operator, transposed.

For a linear forward operator F (input u, output v) and the backward operator B derived for it
(B maps an error on v's space to u's space), the theorems of this section say
∂⟨F(u), G⟩/∂u = B(G).  Entry by entry that is

    ∂F(u)[out]/∂u[in] = ∂B(G)[in]/∂G[out]          (J_F = J_Bᵀ, both by the rule "differentiate"),

checked exactly (symbolic weights) at concrete sizes, one batch element (the Jacobian of a batch
is block diagonal), for: true convolution -> correlation with the channel-swapped kernel
(correlation-convolution-duality); transposed convolution -> correlation; average pooling ->
transposed convolution with 1/|K| (pooling-backward); sub-sampling -> up-sampling, read the
other way up-sampling -> sub-sampling (stride-is-subsampling); the four padding maps -> their
folds (padding-adjoint).  The correlation, with each padding mode (corr ∘ pad), is compared
entry by entry with conv_transpose_matrix of convproof.symbolic, the matrix of the transposed
convolution built from the index maps of the kernels and the indexmaps padding sources:
J_corr = Tᵀ for every padding mode, in 1-D (in N-d the padding and the band are per-axis
products; banded-matrix and transposed-is-adjoint certify zero padding in 2-D and 3-D).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import sympy

from convproof.spec import ConvSpec
from convproof.symbolic import (Claim, Evidence, Point, Signal, Theorem, certified, in_range, multi,
                                scalar)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Partial
from convproof.symbolic.matrices import conv_transpose_matrix
from convproof.symbolic.normal import NoPoints
from convproof.symbolic.operators import Setting, convolution, correlation, g, i, o, transposed
from convproof.symbolic.operators_jacobian import Entries
from convproof.symbolic.operators_padding import MODES, axis, fits, padded
from convproof.proofs import (correlation_convolution_duality as duality,
                              padding_adjoint as padding, pooling_backward as pooling,
                              stride_is_subsampling as stride)

st = Setting()
x, w, y, grad, error = Signal("x"), Signal("w"), Signal("y"), Signal("G"), Signal("E")
g1, o1, c1 = scalar("g' o' c'")
i1, j1 = multi("i' j'")
OUTPUT_PADDING = sympy.Eq(st.a, st.unused, evaluate=False)
corr = correlation(x, w, st)

THEOREM = Theorem(
    "jacobian-crosscheck", "Every forward operator's Jacobian is its backward operator, transposed",
    r"\frac{\partial F(u)_{v}}{\partial u_{w}} = \frac{\partial B(G)_{w}}{\partial G_{v}}",
    depends=("correlation-convolution-duality", "pooling-backward", "padding-adjoint",
             "stride-is-subsampling", "transposed-is-adjoint"),
)


def jacobian_claim(name: str, forward, variable, backward, error_entry, indices: dict,
                   hypotheses: tuple = ()) -> Claim:
    """∂forward/∂variable = ∂backward/∂error_entry at every pair of indices."""
    return Claim(name, Partial(forward, variable), Partial(backward, error_entry),
                 hypotheses=hypotheses, indices=indices)


def conv_indices(setting: Setting) -> dict:
    """Output (g, o, i) and input (g', c', j') indices of one batch element (the Jacobian of a
    batch is block diagonal, one copy per element)."""
    return {g: setting.group_box(g), o: setting.outputs(o), i: setting.positions(i),
            g1: setting.group_box(g1), c1: setting.inputs(c1), j1: setting.pixels(j1)}


pool, unit = pooling.st, stride.unit
CLAIMS = {
    "convolution -> correlation": jacobian_claim(
        "convolution -> correlation", convolution(x, w, st)[0, g, o, i], x[0, g1, c1, j1],
        duality.correlated[0, g1, c1, j1], grad[0, g, o, i], conv_indices(st), (OUTPUT_PADDING,)),
    "transposed convolution -> correlation": jacobian_claim(
        "transposed convolution -> correlation", transposed(y, w, st)[0, g1, c1, j1],
        y[0, g, o, i], correlation(error, w, st, name="corr_E")[0, g, o, i], error[0, g1, c1, j1],
        conv_indices(st), (OUTPUT_PADDING,)),
    "average pooling -> transposed convolution": jacobian_claim(
        "average pooling -> transposed convolution", pooling.avg[0, g, o, i], x[0, g1, c1, j1],
        pooling.avg_back[0, g1, c1, j1], grad[0, g, o, i], conv_indices(pool),
        (pooling.OUTPUT_PADDING,)),
    "sub-sampling -> up-sampling": jacobian_claim(
        "sub-sampling -> up-sampling", stride.sub_y[0, g, o, i], y[0, g1, o1, i1],
        stride.up[0, g1, o1, i1], grad[0, g, o, i],
        {g: st.group_box(g), o: st.outputs(o), i: st.positions(i), g1: st.group_box(g1),
         o1: st.outputs(o1), i1: unit.positions(i1)}),
}
u, v = scalar("u v")
for _mode in MODES:
    CLAIMS[f"{_mode} padding -> fold"] = jacobian_claim(
        f"{_mode} padding -> fold", padding.PADDED[_mode][v], padding.x[u],
        padding.FOLDED[_mode][u], padding.grad[v],
        {v: in_range(v, padding.AXES[_mode].length), u: in_range(u, padding.n)})


def _points(count: int = 4) -> list[Point]:
    return conv_points(st, dims=(1, 2), limit={1: count, 2: 2})


def _grid(name: str) -> list[Point]:
    if name.endswith("padding -> fold"):
        mode = name.split()[0]
        return [Point({padding.n: n0, padding.p: p0, padding.q: q0}, 1)
                for n0, p0, q0 in ((4, 2, 1), (3, 3, 0), (2, 1, 2), (5, 4, 3), (3, 1, 1))
                if fits(mode, ((p0, q0),), (n0,))]
    points = _points()
    for point in points:
        point.values[pooling.volume] = int(np.prod(point.values[st.k]))
    return points


@THEOREM.evidence
def jacobians():
    return [certified(claim, _grid(name), f"J of {name}: exact on the grid")
            for name, claim in CLAIMS.items()]


# --- against the matrix that convproof.symbolic builds from the index maps -------------------
def padded_correlation(mode: str) -> Signal:
    """corr(pad(x)): the correlation (no padding of its own) of the padded input, per axis."""
    ax = axis(mode, st.n, st.p, st.q)
    inner = dataclasses.replace(st, n=ax.length, p=sympy.S.Zero, q=sympy.S.Zero)
    return correlation(padded(x, ax, lead=3, name=f"pad_{mode}_x"), w, inner, name=f"corr_{mode}")


def _weight_name(point: Point, monomial: tuple) -> str:
    """The name conv_transpose_matrix gives w[g, o, c, m]: w[g·C_o + o, c, m]."""
    (_, (grp, oo, cc, *tap)), = monomial
    return f"w[{grp * point.values[st.c_out] + oo},{cc},{','.join(map(str, tap))}]"


def _spec_at(point: Point, mode: str) -> tuple[ConvSpec, tuple, tuple]:
    """The ConvSpec of a grid point, output_padding restoring n; with n and the output size."""
    values = point.values
    groups, n = values[st.groups], values[st.n]
    spec = ConvSpec(groups * values[st.c_in], groups * values[st.c_out], values[st.k],
                    stride=values[st.s], padding=tuple(zip(values[st.p], values[st.q])),
                    dilation=values[st.d], groups=groups, padding_mode=mode)
    return dataclasses.replace(spec, output_padding=spec.unused(n)), n, spec.output_size(n)


_COMPILED: dict[tuple[str, int], Entries] = {}


def matrix_check(mode: str, points: list[Point], matrix_mode: str | None = None) -> Evidence:
    """The Jacobian of corr (zeros) or corr ∘ pad_mode equals the transpose of
    conv_transpose_matrix(spec), entry by entry, at every point (the spec's padding mode is
    ``matrix_mode``, by default the same)."""
    started = time.perf_counter()
    if not points:
        raise NoPoints(f"{mode}: a matrix check needs at least one point")
    forward = corr if mode == "zeros" else padded_correlation(mode)
    derivative = Partial(forward[0, g, o, i], x[0, g1, c1, j1])
    compared = 0
    for point in points:
        if (mode, point.dims) not in _COMPILED:  # compiled once, for the mutants too
            _COMPILED[mode, point.dims] = Entries(derivative, conv_indices(st), point)
        spec, n, out = _spec_at(point, matrix_mode or mode)
        ci, co, dims = point.values[st.c_in], point.values[st.c_out], point.dims
        jacobian = {}
        for (grp, oo, *rest), poly in _COMPILED[mode, point.dims](point).items():
            position, (_, cc, *pixel) = rest[:dims], rest[dims:]
            row = int(np.ravel_multi_index((grp * co + oo, *position), (spec.out_channels, *out)))
            column = int(np.ravel_multi_index((grp * ci + cc, *pixel), (spec.in_channels, *n)))
            jacobian[row, column] = {_weight_name(point, m_): cf for m_, cf in poly.items()}
        T, _ = conv_transpose_matrix(spec, (spec.out_channels, *out))
        matrix = {(column, row): {str(symbol): int(cf) for symbol, cf
                                  in value.as_coefficients_dict().items()}
                  for (row, column), value in T.todok().items() if value != 0}
        compared += len(matrix)
        if matrix != jacobian:
            first = min(set(matrix) ^ set(jacobian) or
                        {key for key in jacobian if jacobian[key] != matrix[key]})
            return Evidence("certified", f"{mode}: J against conv_transpose_matrix", False,
                            f"at {point.describe()} entry {first}: the Jacobian has "
                            f"{jacobian.get(first)}, Tᵀ has {matrix.get(first)}",
                            time.perf_counter() - started, grid=points,
                            details=_compared(mode, matrix_mode))
    return Evidence("certified", f"{mode}: J against conv_transpose_matrix", compared > 0,
                    f"J = Tᵀ entry by entry on {len(points)} point(s)" if compared else
                    "compares nothing: J and Tᵀ are 0 at every point",
                    time.perf_counter() - started, grid=points,
                    details=_compared(mode, matrix_mode))


def _compared(mode: str, matrix_mode: str | None) -> dict[str, str]:
    """The statement a matrix check compares, in words (it has no claim of its own)."""
    forward = "corr(x)" if mode == "zeros" else f"corr(pad_{mode}(x))"
    return {"compared": f"J[(g, o, i), (g', c', j)] = ∂ {forward}[g, o, i] / ∂ x[g', c', j], "
                        f"the derived Jacobian, equals T[(g', c', j), (g, o, i)], T = "
                        f"conv_transpose_matrix(spec) of padding mode {matrix_mode or mode}, "
                        "for every entry, at every point of the grid"}


def _matrix_points(mode: str) -> list[Point]:
    """A 1-D point with padding on both sides that fits."""
    fitting = [p for p in conv_points(st, dims=(1,)) if min(p.values[st.p] + p.values[st.q]) > 0
               and fits(mode, tuple(zip(p.values[st.p], p.values[st.q])), p.values[st.n])]
    return fitting[:1]


@THEOREM.evidence
def matrices():
    return [matrix_check(mode, _matrix_points(mode)) for mode in MODES]


@THEOREM.mutant("the transposed convolution's Jacobian compared without the output padding")
def no_output_padding():
    claim = CLAIMS["transposed convolution -> correlation"]
    wrong = Claim(claim.name, claim.lhs, claim.rhs, hypotheses=(sympy.Eq(st.a, 0, evaluate=False),),
                  indices=claim.indices)
    return certified(wrong, [p for p in conv_points(st, dims=(1,)) if p.values[st.s] != (1,)][:2])


@THEOREM.mutant("a true convolution whose backward is taken to be the correlation's scatter")
def convolution_as_correlation():
    claim = CLAIMS["convolution -> correlation"]
    scatter = transposed(grad, w, st)[0, g1, c1, j1]
    wrong = Claim(claim.name, claim.lhs, Partial(scatter, grad[0, g, o, i]),
                  hypotheses=claim.hypotheses, indices=claim.indices)
    return certified(wrong, _points(1))


@THEOREM.mutant("reflect padding's Jacobian compared with the replicate fold")
def reflect_as_replicate():
    claim = CLAIMS["reflect padding -> fold"]
    wrong = Claim(claim.name, claim.lhs, CLAIMS["replicate padding -> fold"].rhs,
                  indices=claim.indices)
    return certified(wrong, _grid("reflect padding -> fold"))


@THEOREM.mutant("circular padding's Jacobian against conv_transpose_matrix of reflect padding")
def circular_as_reflect():
    return matrix_check("circular", _matrix_points("reflect"), matrix_mode="reflect")


prove = THEOREM.prove
render = THEOREM.render
