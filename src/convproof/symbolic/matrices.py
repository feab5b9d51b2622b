"""The matrices of convolution, evaluated from the theorems, and exact certificates of a spec.

conv_matrix(spec, (C_in, *n)) -> (A, w): y = A x on C-order flattenings, for every padding
mode: A = A0 · P with A0 the banded matrix of banded-matrix on the padded input (zero padding
0) and P the padding map (x_pad[j] = x[pi(j - p_lo)] per axis).  conv_transpose_matrix is the
scatter of transposed-is-adjoint, followed by Pᵀ, so it equals Aᵀ whenever the sizes
correspond.  Both evaluate the theorems' own definitions exactly (:mod:`.evaluate`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Sequence

import numpy as np
import sympy

from ..spec import ConvSpec, Size, check_padding_fits
from .certificates import Point, compare, only_zeros, sides_at, unmet_hypotheses
from .evaluate import Instance
from .indexmaps import padding_source
from .language import Signal, le, zsum
from .rules import unfold_all
from .operators import Setting, c, g, i, j, o
from .proof import load


_SIZES = ("in_channels", "out_channels", "groups", "kernel_size", "stride", "dilation",
          "padding", "output_padding")


def _symbolic(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return any(map(_symbolic, value))
    return isinstance(value, sympy.Basic)


def _check_spec(spec: ConvSpec) -> ConvSpec:
    """A ConvSpec of concrete sizes (a matrix or a certificate has concrete entries)."""
    if not isinstance(spec, ConvSpec):
        raise TypeError(f"spec must be a ConvSpec, got {type(spec).__name__}")
    for name in _SIZES:
        if _symbolic(getattr(spec, name)):
            raise ValueError(f"spec.{name} = {getattr(spec, name)} is symbolic; matrices and "
                             "certificates need concrete sizes (the proofs cover symbolic ones)")
    return spec


def _integer(value: Any) -> int | None:
    """An int from an int, a NumPy integer or a SymPy Integer; None for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)) or (isinstance(value, sympy.Basic)
                                                 and value.is_Integer):
        return int(value)
    return None


def _sizes(spec: ConvSpec, input_shape: Sequence[Size], channels: int, name: str
           ) -> tuple[int, ...]:
    """The spatial sizes of ``input_shape`` = (C, *n), which must hold concrete integers."""
    if not isinstance(input_shape, (tuple, list)):  # not a dict's keys or a spent generator
        raise TypeError(f"input_shape must be a shape (C, *spatial) as a tuple, got "
                        f"{input_shape!r}")
    given = tuple(input_shape)
    shape = tuple(map(_integer, given))
    if None in shape:
        raise TypeError(f"input_shape must hold concrete integers, got {given}")
    if len(shape) != spec.dims + 1:
        raise ValueError(
            f"input_shape must be (C, *spatial) with {spec.dims} spatial dims, got {shape}"
        )
    if shape[0] != channels:
        raise ValueError(f"input_shape has {shape[0]} channels, the {name} expects {channels}")
    for axis, size in enumerate(shape[1:], start=1):
        if size < 1:
            raise ValueError(f"input_shape[{axis}] must be a positive integer, got {size}")
    return shape[1:]


def weight_symbols(spec: ConvSpec, name: str = "w") -> np.ndarray:
    """The kernel as SymPy symbols w[o,c,m...] in the weight's shape (C_out, C_in/groups, *k)."""
    weights = np.empty(spec.weight_shape, dtype=object)
    for index in np.ndindex(*spec.weight_shape):
        weights[index] = sympy.Symbol(f"{name}[{','.join(map(str, index))}]")
    return weights


def _point(
    spec: ConvSpec,
    sizes: Sequence[int],
    pads: Sequence[tuple[int, int]],
    output_padding: Sequence[int] | None = None,
) -> tuple[Setting, Point]:
    st = Setting()
    values = {
        st.n: tuple(sizes),
        st.k: tuple(spec.kernel_size),
        st.s: tuple(spec.stride),
        st.d: tuple(spec.dilation),
        st.p: tuple(lo for lo, _ in pads),
        st.q: tuple(hi for _, hi in pads),
        st.batch: 1,
        st.groups: spec.groups,
        st.c_in: spec.in_channels // spec.groups,
        st.c_out: spec.out_channels // spec.groups,
    }
    if output_padding is not None:
        values[st.a] = tuple(output_padding)
    return st, Point(values, spec.dims)


_COMPILED: dict[tuple, Instance] = {}


def _entries(expr, variables: tuple, point: Point) -> dict[tuple, dict]:
    """{marker index: {other monomial: coefficient}} of ``expr`` summed over ``variables``
    with a marker entry @at[variables] (the matrix entries, keyed by row and column); the
    compiled evaluator is kept per (expression, number of dims)."""
    key = (expr, variables, point.dims)
    if key not in _COMPILED:
        marker = Signal("@at")
        _COMPILED[key] = Instance(
            unfold_all(zsum(expr * marker[variables], *variables)),
            list(point.values),
            point.dims,
            point.values,
        )
    poly = _COMPILED[key](point.values)
    entries: dict[tuple, dict] = {}
    for monomial, coeff in poly.items():
        at = next(index for name, index in monomial if name == "@at")
        rest = tuple((name, index) for name, index in monomial if name != "@at")
        entries.setdefault(at, {})[rest] = coeff
    return entries


def conv_matrix(
    spec: ConvSpec, input_shape: Sequence[int]
) -> tuple[sympy.SparseMatrix, np.ndarray]:
    """(A, w) with conv(x) = A x on C-order flattenings of (C_in, *n) and (C_out, *o).

    A[(o, i), (c, j)] = Σ over taps m with pi(s·i + d·m - p_lo) = j of w[o, c, m] per the
    banded-matrix theorem; ``w`` holds the kernel symbols in the weight's shape.  A layer of
    more than CERTIFY_TERMS multiply-adds is refused (each entry term is symbolic).
    """
    sizes = _sizes(_check_spec(spec), input_shape, spec.in_channels, "convolution")
    pads = spec.pads(sizes)
    out = spec.output_size(sizes)
    _refuse_large(spec, input_shape, out, "a conv matrix holds",
                  "take a smaller input or fewer channels")
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(sizes, pads))
    st, point = _point(spec, padded, [(0, 0)] * spec.dims)
    A = load("banded-matrix").signals["A"]
    boxes = st.group_box(g) * st.outputs(o) * st.inputs(c) * st.positions(i) * st.pixels(j)
    entries = _entries(boxes * A[g, o, c, i, j], (g, o, c, i, j), point)
    weights = weight_symbols(spec)
    co, ci = spec.out_channels // spec.groups, spec.in_channels // spec.groups
    rows_shape, cols_shape = (spec.out_channels, *out), (spec.in_channels, *sizes)
    matrix: dict[tuple[int, int], Any] = {}
    for (grp, oo, cc, *index), taps in entries.items():
        position, padded_column = index[: spec.dims], index[spec.dims :]
        source = [
            padding_source(spec.padding_mode, jj - lo, n)
            for jj, (lo, _), n in zip(padded_column, pads, sizes)
        ]
        if any(s is None for s in source):
            continue
        row = int(np.ravel_multi_index((grp * co + oo, *position), rows_shape))
        col = int(np.ravel_multi_index((grp * ci + cc, *source), cols_shape))
        value = sum(
            coeff * weights[(grp * co + key[0][1][1], *key[0][1][2:])]
            for key, coeff in taps.items()
        )
        matrix[row, col] = matrix.get((row, col), 0) + value
    return sympy.SparseMatrix(int(np.prod(rows_shape)), int(np.prod(cols_shape)), matrix), weights


def conv_transpose_matrix(
    spec: ConvSpec, input_shape: Sequence[int]
) -> tuple[sympy.SparseMatrix, np.ndarray]:
    """(T, w): the transposed conv of ``spec`` (output_padding from the spec) maps the
    flattening of (C_out, *m) to that of (C_in, *t), t = (m - 1)s - p_lo - p_hi + d(k - 1) + a + 1.

    T is the scatter of transposed-is-adjoint on the padded output, z_pad[s·i + d·m] +=
    w[o, c, m] y[o, i], folded back by Pᵀ (the adjoint of the padding mode), with the same
    weight symbols as conv_matrix; T = Aᵀ when t is the forward input size.
    """
    sizes = _sizes(_check_spec(spec), input_shape, spec.out_channels, "transposed convolution")
    _refuse_large(spec, input_shape, sizes, "a transposed conv matrix holds",
                  "take a smaller input or fewer channels")
    target = spec.transposed_output_size(sizes)
    pads = spec.transposed_pads()
    check_padding_fits(spec.padding_mode, pads, target, "transposed output size")
    # evaluate in padded coordinates: no padding, the smallest forward size that has m outputs
    forward = tuple(
        (m - 1) * s + d * (k - 1) + 1
        for m, s, d, k in zip(sizes, spec.stride, spec.dilation, spec.kernel_size)
    )
    st, point = _point(spec, forward, [(0, 0)] * spec.dims, spec.output_padding)
    convT = load("transposed-is-adjoint").signals["convT"]
    boxes = st.group_box(g) * st.inputs(c) * le(0, j) * le(j, st.transposed_size - 1)
    entries = _entries(boxes * convT[0, g, c, j], (g, c, j), point)
    weights = weight_symbols(spec)
    co, ci = spec.out_channels // spec.groups, spec.in_channels // spec.groups
    rows_shape, cols_shape = (spec.in_channels, *target), (spec.out_channels, *sizes)
    matrix: dict[tuple[int, int], Any] = {}
    for (grp, cc, *padded_row), terms in entries.items():
        source = [
            padding_source(spec.padding_mode, jj - lo, n)
            for jj, (lo, _), n in zip(padded_row, pads, target)
        ]
        if any(s is None for s in source):
            continue
        row = int(np.ravel_multi_index((grp * ci + cc, *source), rows_shape))
        for monomial, coeff in terms.items():
            factors = dict(monomial)
            _, oo, _, *tap = factors["w"]
            _, _, _, *position = factors["y"]
            col = int(np.ravel_multi_index((grp * co + oo, *position), cols_shape))
            value = coeff * weights[(grp * co + oo, cc, *tap)]
            matrix[row, col] = matrix.get((row, col), 0) + value
    return sympy.SparseMatrix(int(np.prod(rows_shape)), int(np.prod(cols_shape)), matrix), weights


@dataclass
class Certificate:
    """The outcome of certify(): one claim checked exactly at the sizes of one spec."""

    theorem: str
    ok: bool
    seconds: float
    message: str
    point: Point

    def __bool__(self) -> bool:
        return self.ok


CERTIFY_TERMS = 10**6
"""The most multiply-adds (C_out · outputs · C_in/G · taps) a certificate compares, or a
conv matrix (or its transpose) holds: each is a symbolic term, about 10 us and 1 KB (8 -> 12
channels at 32 x 32, 885 K terms: 9.1 s, 1.0 GB on one core)."""


def multiply_adds(spec: ConvSpec, positions: Sequence[int]) -> int:
    """C_out · positions · C_in/G · taps: the terms of a conv matrix (``positions``: the
    conv's outputs, the transposed conv's inputs)."""
    return (spec.out_channels * math.prod(positions) * spec.in_channels // spec.groups
            * math.prod(spec.kernel_size))


def _refuse_large(spec: ConvSpec, input_shape: Sequence[int], positions: Sequence[int],
                  what: str, advice: str) -> None:
    """Refuse a layer of more than CERTIFY_TERMS :func:`multiply_adds`, each a symbolic
    term."""
    terms = multiply_adds(spec, positions)
    if terms > CERTIFY_TERMS:
        raise ValueError(
            f"{what} every multiply-add as a symbolic term: {spec} at input "
            f"{tuple(input_shape)} has {terms:,}, more than CERTIFY_TERMS = {CERTIFY_TERMS:,} "
            f"(about 10 s and 1 GB); {advice}")


def certify(theorem_id: str, spec: ConvSpec, input_shape: Sequence[Size]) -> Certificate:
    """Check the theorem's claim exactly (symbolic entries) at the sizes of ``spec`` and an
    input of shape (C_in, *n): e.g. certify("banded-matrix", spec, (3, 64, 64)).

    ``.ok`` is False when the claim does not hold there (``.message`` names the first
    difference); where both sides are 0 at every index (every window in the padding), the
    message says that the point checks nothing but 0 = 0.  A spec the claim does not cover
    raises ValueError: a theorem without a single-spec certificate, a padding mode other than
    zeros, symbolic sizes in the spec, sizes that miss a hypothesis of the claim
    (transposed-is-adjoint needs output_padding = the rows the forward leaves unused,
    ``spec.unused(n)``), or a layer of more than CERTIFY_TERMS multiply-adds; symbolic sizes
    in ``input_shape`` raise TypeError.
    """
    from ..catalog import CATALOG

    started = time.perf_counter()
    _check_spec(spec)
    if not isinstance(theorem_id, str):
        raise TypeError(f"theorem_id must be a catalog id (a str), got {theorem_id!r}")
    if theorem_id not in CATALOG:
        raise ValueError(f"theorem_id {theorem_id!r} is not in the catalog; it has "
                         f"{', '.join(CATALOG)}")
    theorem = load(theorem_id)
    claim = theorem.certifiable
    if claim is None:
        certifiable = sorted(tid for tid, t in _certifiable_theorems().items() if t)
        raise ValueError(
            f"theorem {theorem_id!r} has no single-spec certificate; these do: "
            f"{', '.join(certifiable)}"
        )
    if spec.padding_mode != "zeros":
        raise ValueError(
            f"the claim of {theorem_id} is stated for zero padding, got "
            f"padding_mode={spec.padding_mode!r} (conv_matrix covers the other modes)"
        )
    sizes = _sizes(spec, input_shape, spec.in_channels, "convolution")
    pads = spec.pads(sizes)
    _refuse_large(spec, input_shape, spec.output_size(sizes), "certify compares",
                  "certify a smaller input or fewer channels (convproof prove proves the "
                  "claim for every size)")
    _, point = _point(spec, sizes, pads, spec.output_padding)
    unmet = unmet_hypotheses(claim, point)
    if unmet:
        hint = (f"; spec.replace(output_padding={spec.unused(sizes)}) meets it"
                if any(text.startswith("hypothesis a ") for text in unmet) else "")
        raise ValueError(f"the spec does not meet the hypotheses of {theorem_id} at input "
                         f"{tuple(input_shape)}: {'; '.join(unmet)}{hint}")
    left, right, problems = sides_at(claim, point)
    ok, message = compare(left, right, problems, point)
    if ok:
        message = f"exact at {point.describe()}"
        if only_zeros(left, right):
            message += ("; both sides are 0 at every index there (no window reaches the "
                        "input), so the point checks nothing but 0 = 0")
    return Certificate(theorem_id, ok, time.perf_counter() - started, message, point)


def _certifiable_theorems() -> dict[str, bool]:
    from ..catalog import CATALOG

    found = {}
    for tid in CATALOG:
        try:
            found[tid] = load(tid).certifiable is not None
        except Exception:  # a missing proof file simply offers no certificate
            found[tid] = False
    return found
