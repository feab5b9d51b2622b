"""pooling-backward: the backward passes of average and max pooling.

Average pooling (count_include_pad=True, floor mode) is a correlation with the constant kernel
box[g, o, c, m] = [m ∈ K][o = c]/|K|, |K| = Π_a k_a the number of taps (channel by channel:
in deep-learning terms a depthwise convolution with kernels 1/|K|).  So its backward pass is
the transposed convolution with that kernel (grad-input-flip): each output's error is spread
evenly, 1/|K| to every pixel of its window, summed where windows overlap; the share of a tap
in the padding is dropped (the divisor still counts it).  The statement allows any dilation
(PyTorch's average pooling has none).  With count_include_pad=False, or a ceil_mode window
that overhangs the padding, the divisor depends on the window: a per-output scaling after the
correlation, whose transpose scales the error first.

Max pooling is piecewise linear: where the window's maximum is attained at one tap, it is
sel_S(x)[i] = Σ_m S[i, m] x̃[s·i + d·m - p] with S the one-hot indicator of that tap, constant
near x.  Its (sub)gradient holds S fixed:

    ∂⟨sel_S(x), G⟩/∂x[j] = Σ_i Σ_m S[i, m] G[i] [j = s·i + d·m - p]:

the error of window i goes to its arg-max, and the errors of overlapping windows that pick the
same pixel add up ("winner takes it all", summed).  At ties S picks one tap: PyTorch's rule,
stated here, is the first maximum in row-major window order,
S_m = Π_{m' < m}[v_m > v_m'] Π_{m' > m}[v_m ≥ v_m'] (taps in the implicit -∞ padding never
win).  That S, routed, is certified exactly against the library's max pooling oracle on
concrete windows, distinct and tied inputs, with symbolic errors.  On {0, 1}, max is OR:
max(x, y) = x + y - x·y, a polynomial identity checked on the four points.
"""

from __future__ import annotations

import time

import numpy as np
import sympy

from convproof import reference
from convproof.spec import PoolSpec
from convproof.symbolic import (Claim, Derivation, Evidence, Point, Signal, Theorem, certified, eq,
                                in_range, multi, scalar, universal, zsum)
from convproof.symbolic.grid import conv_points
from convproof.symbolic.language import Partial
from convproof.symbolic.operators import (Setting, b, c, correlation, g, i, m, o, output_inner,
                                          transposed)
from convproof.symbolic.operators_jacobian import Entries, substituted
from convproof.symbolic.operators_pool_backward import (average_pool, box_kernel, first_maximum,
                                                        pool_setting, routed, selection_pool,
                                                        tie_rule_selection)

st = pool_setting(Setting())
volume = scalar("|K|", positive=True)
x, grad, S = Signal("x"), Signal("G"), Signal("S")
b1, g1, c1 = scalar("b' g' c'")
j1 = multi("j'")
OUTPUT_PADDING = sympy.Eq(st.a, st.unused, evaluate=False)
avg = average_pool(x, st, volume)
kernel = box_kernel(st, volume)
avg_corr = correlation(x, kernel, st, name="corr_box")
avg_back = transposed(grad, kernel, st, name="convT_box")
sel = selection_pool(x, S, st)
route = routed(grad, S, st)

THEOREM = Theorem(
    "pooling-backward", "The backward passes of average and max pooling",
    r"\operatorname{avg} = \operatorname{corr}(\cdot, \tfrac{1}{|K|}),\ "
    r"\nabla_x = \operatorname{conv}^{T}(G, \tfrac{1}{|K|});\quad "
    r"\frac{\partial \langle \operatorname{sel}_S(x), G\rangle}{\partial x_j} = "
    r"\sum_{i,m} S_{i,m} G_i [j = s i + d m - p];\quad"
    r"\max(x, y) = x + y - x y \text{ on } \{0,1\}",
    depends=("grad-input-flip",),
    notes=("The notes route the max-pooling error to 'the' maximum; at ties the choice is a "
           "convention: PyTorch (and this library) take the first maximum in row-major window "
           "order, and the errors of overlapping windows that pick the same pixel are added.",),
)

OUTPUT = {b: st.batches(b), g: st.group_box(g), o: st.outputs(o), i: st.positions(i)}
INDICES = {b1: st.batches(b1), g1: st.group_box(g1), c1: st.inputs(c1), j1: st.pixels(j1)}
BOXES = st.batches(b1) * st.group_box(g1) * st.inputs(c1) * st.pixels(j1)
AVERAGE = THEOREM.export(Claim(
    "average is a correlation", st.outputs(o) * avg[b, g, o, i], avg_corr[b, g, o, i],
    indices=OUTPUT, text="average pooling is the correlation with the constant kernel",
))
AVERAGE_BACKWARD = THEOREM.export(Claim(
    "average backward", Partial(output_inner(lambda *ix: avg[ix], grad, st), x[b1, g1, c1, j1]),
    BOXES * avg_back[b1, g1, c1, j1], hypotheses=(OUTPUT_PADDING,), indices=INDICES,
    text="the backward of average pooling is the transposed convolution with 1/|K|",
))
ROUTE = THEOREM.export(Claim(
    "max routes to the selected tap", Partial(output_inner(lambda *ix: sel[ix], grad, st),
                                              x[b1, g1, c1, j1]),
    BOXES * route[b1, g1, c1, j1], indices=INDICES,
    text="for a fixed one-hot selection S: the error goes to the selected taps, summed",
))
left, right = scalar("u v")
OR = Claim("max is OR", sympy.Max(left, right), left + right - left * right,
           text="on {0, 1}: max(u, v) = u + v - u·v = u ∨ v (certified on the four points)")


@THEOREM.evidence
def average_is_correlation():
    read = st.input_index(i, m)
    pixel = st.pixels(read)
    proof = (
        Derivation(AVERAGE.lhs, "avg = corr(·, 1/|K|)")
        .by("definition",
            st.outputs(o) * zsum(st.taps(m) * pixel * x[b, g, o, read], m) / volume,
            "unfold the average", signals=(avg,))
        .back("Kronecker delta",
              zsum(st.inputs(c) * st.taps(m) * eq(o, c) / volume * pixel * x[b, g, c, read], c, m),
              "name the input channel c = o: pooling keeps the channel", var=c)
        .back("definition",
              zsum(st.inputs(c) * st.taps(m) * kernel[g, o, c, m] * pixel * x[b, g, c, read], c, m),
              "[m ∈ K][o = c]/|K| is the constant kernel", signals=(kernel,))
        .back("definition", AVERAGE.rhs, "a correlation", signals=(avg_corr,))
    )
    return universal(AVERAGE, proof)


def _gathered(weight, error_channel):
    """Σ_{i,m} [i ∈ O][m ∈ K]·weight·G[b', g', channel, i]·[j' = s·i + d·m - p]."""
    return zsum(st.positions(i) * st.taps(m) * weight * grad[b1, g1, error_channel, i]
                * eq(j1, st.input_index(i, m)), i, m)


def _differentiated(weight):
    """∂⟨pool(x), G⟩/∂x[b', g', c', j'] before any delta is used; weight(b, g, o) per tap."""
    read = st.input_index(i, m)
    return zsum(st.batches(b) * st.group_box(g) * st.outputs(o) * st.positions(i) * st.taps(m)
                * weight(b, g, o) * st.pixels(read) * eq(b, b1) * eq(g, g1) * eq(o, c1)
                * eq(read, j1) * grad[b, g, o, i], b, g, o, i, m)


def _channel_deltas(proof: Derivation, weight) -> Derivation:
    """The batch, group and channel of x[b', g', c', j'] pin those of the output."""
    read = st.input_index(i, m)

    def tail(pixel):
        return st.positions(i) * st.taps(m) * pixel * eq(read, j1)

    return (
        proof
        .by("Kronecker delta",
            zsum(st.batches(b1) * st.group_box(g) * st.outputs(o) * tail(st.pixels(read))
                 * weight(b1, g, o) * eq(g, g1) * eq(o, c1) * grad[b1, g, o, i], g, o, i, m),
            "b = b'", var=b)
        .by("Kronecker delta",
            zsum(st.batches(b1) * st.group_box(g1) * st.outputs(o) * tail(st.pixels(read))
                 * weight(b1, g1, o) * eq(o, c1) * grad[b1, g1, o, i], o, i, m),
            "g = g'", var=g)
        .by("Kronecker delta",
            st.batches(b1) * st.group_box(g1) * st.inputs(c1)
            * zsum(tail(st.pixels(read)) * weight(b1, g1, c1) * grad[b1, g1, c1, i], i, m),
            "the channel: pooling reads x[b, g, c', ·] only for output channel c'", var=o)
        .back("use the delta",
              st.batches(b1) * st.group_box(g1) * st.inputs(c1)
              * zsum(tail(st.pixels(j1)) * weight(b1, g1, c1) * grad[b1, g1, c1, i], i, m),
              "under [j' = s·i + d·m - p] the read position is j'", var=j1)
    )


@THEOREM.evidence
def average_backward():
    weight = lambda *_: 1 / volume  # noqa: E731
    reduced_size = st.transposed_size.subs(st.a, st.unused)
    proof = Derivation(AVERAGE_BACKWARD.lhs, "the backward of average pooling").by(
        "differentiate", _differentiated(weight),
        "x enters linearly: ∂x[b, g, o, s·i + d·m - p]/∂x[b', g', c', j'] is the delta of all four")
    proof = (
        _channel_deltas(proof, weight)
        .by("linearity", BOXES * _gathered(1 / volume, c1), "the box of j' leaves the sum")
        .back("division with remainder",
              BOXES * in_range(j1, reduced_size) * _gathered(1 / volume, c1),
              "with a = (n + p + q - d(k - 1) - 1) mod s the transposed size n' is n")
        .back("hypothesis", BOXES * in_range(j1, st.transposed_size) * _gathered(1 / volume, c1),
              "the output padding", equation=OUTPUT_PADDING)
        .back("Kronecker delta",
              BOXES * in_range(j1, st.transposed_size) * zsum(
                  st.outputs(o) * eq(o, c1) * _gathered(1 / volume, o), o),
              "the error channel o = c'", var=o)
        .back("definition",
              BOXES * in_range(j1, st.transposed_size) * zsum(
                  st.outputs(o) * _gathered(kernel[g1, o, c1, m], o), o),
              "[m ∈ K][o = c']/|K| is the constant kernel", signals=(kernel,))
        .back("definition", AVERAGE_BACKWARD.rhs, "the transposed convolution with 1/|K|",
              signals=(avg_back,))
    )
    return universal(AVERAGE_BACKWARD, proof)


@THEOREM.evidence
def max_routes():
    weight = lambda b_, g_, o_: S[b_, g_, o_, i, m]  # noqa: E731
    proof = Derivation(ROUTE.lhs, "the backward of a selection").by(
        "differentiate", _differentiated(weight),
        "S is held fixed: only x[b, g, o, s·i + d·m - p] depends on x")
    proof = (
        _channel_deltas(proof, weight)
        .by("linearity", BOXES * _gathered(S[b1, g1, c1, i, m], c1), "the box of j' leaves the sum")
        .back("definition", ROUTE.rhs, "route_S(G): each window's error to its selected tap",
              signals=(route,))
    )
    return universal(ROUTE, proof)


@THEOREM.evidence
def max_is_or():
    points = [Point({left: u_, right: v_}, 1) for u_ in (0, 1) for v_ in (0, 1)]
    return certified(OR, points, "max(u, v) = u + v - u·v on the four points of {0, 1}²")


def _avg_points():
    points = conv_points(st, dims=(1,), limit={1: 2})
    for point in points:  # one channel count: C_o is C_i
        point.values[volume] = int(np.prod(point.values[st.k]))
        point.label.pop("C_o")
        point.label.update({"C_i": point.values[st.c_in], "|K|": point.values[volume]})
    return points


# --- max pooling on concrete windows -------------------------------------------------------
# (n, k, s, d, p) per axis, p ≤ k/2 as in PyTorch; windows overlap where s < k
_WINDOWS = [((6,), (3,), (1,), (1,), (1,)), ((7,), (3,), (2,), (2,), (1,)),
            ((4, 5), (2, 3), (1, 2), (1, 1), (1, 1))]


def _inputs(shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """A distinct input (a permutation), a tied one (values 0..2) and a binary one."""
    size = int(np.prod(shape))
    distinct = np.random.default_rng(size).permutation(size).reshape(shape)
    tied = (np.arange(size) * 7 % 3).reshape(shape)
    binary = (np.arange(size) * 5 % 2).reshape(shape)
    return [("distinct", distinct), ("tied", tied), ("binary", binary)]


def _window_point(n, k, s, d, p) -> Point:
    values = {st.n: n, st.k: k, st.s: s, st.d: d, st.p: p, st.q: p, st.batch: 1, st.groups: 1,
              st.c_in: 2}
    return Point(values, len(n), label={"n": n, "k": k, "s": s, "d": d, "p": p, "C": 2})


def _reference_routing(x0: np.ndarray, n, k, s, d, p, assign: bool = False) -> dict:
    """{(b, 0, c, *j): {(G[b, 0, c, i],): count}} from the oracle's arg-max indices (with
    assign, a pixel keeps only the last window's error: the wrong, non-summing backward)."""
    _, index = reference.max_pool(x0.astype(float), k, s, p, d)
    routing: dict = {}
    for (b_, c_, *position), flat in np.ndenumerate(index):
        if flat < 0:
            continue
        pixel = (b_, 0, c_, *map(int, np.unravel_index(flat, n)))
        error = (("G", (b_, 0, c_, *position)),)
        if assign:
            routing[pixel] = {}
        routing.setdefault(pixel, {})[error] = routing.get(pixel, {}).get(error, 0) + 1
    return routing


_COMPILED: dict[int, tuple[Entries, Entries]] = {}


def _nonzero(values: dict) -> dict:
    return {key: value for key, value in values.items() if value}


def max_certificate(choose=first_maximum, assign: bool = False) -> Evidence:
    """route_S(G) with S from the tie rule equals the oracle's routing, exactly, and sel_S(x)
    equals the oracle's maxima, on every window and input of the grid."""
    started = time.perf_counter()
    points = []
    for n, k, s, d, p in _WINDOWS:
        point = _window_point(n, k, s, d, p)
        points.append(point)
        if point.dims not in _COMPILED:  # compiled once, for the mutants too
            _COMPILED[point.dims] = (Entries(ROUTE.lhs, ROUTE.indices, point),
                                     Entries(sel[b, g, o, i], OUTPUT, point))
        routes, values = (entries(point) for entries in _COMPILED[point.dims])
        out = PoolSpec(k, s, p, d).output_size(n)
        for label, x0 in _inputs((1, 2, *n)):
            chosen = tie_rule_selection(x0, n, k, s, d, p, out, choose)
            S0 = {"S": {(bb, 0, cc, *rest): v for (bb, cc, *rest), v in chosen.items()}}
            entries = {**S0, "x": {(bb, 0, cc, *j): int(v)
                                   for (bb, cc, *j), v in np.ndenumerate(x0)}}
            maxima, _ = reference.max_pool(x0.astype(float), k, s, p, d)
            picked = {at: sum(substituted(poly, entries).values()) for at, poly in values.items()}
            expected = {(bb, 0, cc, *ii): int(v) for (bb, cc, *ii), v in np.ndenumerate(maxima)}
            mine = {at: routed_poly for at, poly in routes.items()
                    if (routed_poly := substituted(poly, S0))}
            if _nonzero(picked) != _nonzero(expected):
                problem = "the selected tap is not the maximum"
            elif mine != _reference_routing(x0, n, k, s, d, p, assign):
                problem = "the routing differs from the oracle's arg-max"
            else:
                continue
            return Evidence("certified", "max pooling against the oracle", False,
                            f"{problem} at {point.describe()} with the {label} input",
                            time.perf_counter() - started, ROUTE, grid=points)
    return Evidence("certified", "max pooling against the oracle", True,
                    f"maxima and routing exact on {len(_WINDOWS)} windows × 3 inputs "
                    "(distinct, tied, binary)", time.perf_counter() - started, ROUTE, grid=points)


@THEOREM.evidence
def max_against_oracle():
    return max_certificate()


def _last_maximum(values: list) -> int | None:
    """The tie rule read backwards: the last maximum of the window."""
    chosen = first_maximum(values[::-1])
    return None if chosen is None else len(values) - 1 - chosen


@THEOREM.mutant("max pooling that routes ties to the last maximum")
def last_maximum():
    return max_certificate(_last_maximum)


@THEOREM.mutant("max pooling backward that assigns instead of adding overlapping windows")
def not_summed():
    return max_certificate(assign=True)


@THEOREM.mutant("max is u + v on {0, 1} (OR without the correction u·v)")
def or_without_product():
    claim = Claim("max is OR", OR.lhs, left + right)
    return certified(claim, [Point({left: u_, right: v_}, 1) for u_ in (0, 1) for v_ in (0, 1)])


@THEOREM.mutant("average pooling backward without the 1/|K|")
def unnormalised():
    claim = Claim("average backward", AVERAGE_BACKWARD.lhs, AVERAGE_BACKWARD.rhs * volume,
                  hypotheses=AVERAGE_BACKWARD.hypotheses, indices=INDICES)
    return certified(claim, [p for p in _avg_points() if p.values[volume] > 1][:1])


prove = THEOREM.prove
render = THEOREM.render
