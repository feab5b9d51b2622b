"""The standard kernel set: a representative grid of small problems and the kernels they launch.

Every case is an operation of the :class:`~convproof.gpu.backend.Backend` on a small problem:
1-, 2- and 3-D conv forward (all four padding modes, groups, dilation, stride, asymmetric
padding, bias + relu, the direct kernel of narrow groups, every tile class, a split sum, TF32,
bfloat16 and float16 on tensor cores, Winograd F(4x4, 3x3)), true convolution,
backward-data (a correlation per phase of the stride, or the gather), backward-weight (one
block per filter and channel for all their taps, and the GEMM, each split or not, in float32,
float64 and on tensor cores),
transposed conv with output_padding, max pooling forward and backward (with and without the
window; on inputs with ties and NaNs), average pooling both ways of count_include_pad with
ceil_mode, adaptive pooling, padding and its transpose.  The kernels of a case are those the
backend launches for it, so the set lists exactly what runs.  :func:`check` runs a case on any
device (the CPU emulator, a GPU) on fresh random inputs and compares every output with the
float64 reference (for tensor cores, on the inputs rounded to their precision).

    relative error = max |actual - expected| / max |expected|  <=  1e-12 (float64), 1e-5 (float32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import reference as R
from ..codegen.kernels import ConvGeometry, Kernel
from ..spec import ConvSpec, PoolSpec, padded_size
from ..rounding import round_to_bf16, round_to_fp16, round_to_tf32
from .backend import Backend, Device
from .launch import Launch

TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


@dataclass(frozen=True)
class Case:
    """An operation on a small problem: ``op`` names a rule of :data:`OPS`."""

    op: str
    spec: Any
    size: tuple[int, ...]
    dtype: np.dtype = field(default=np.dtype(np.float32))
    batch: int = 2
    channels: int = 3
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def describe(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in self.options)
        return f"{self.op} {self.spec} on {self.size} {np.dtype(self.dtype).name}{extra}"


@dataclass(frozen=True)
class Outcome:
    kernel: str
    ok: bool
    max_rel_err: float

    def as_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "ok": self.ok, "max_rel_err": self.max_rel_err}


@dataclass(frozen=True)
class Op:
    """How a case draws its inputs, runs on a backend and is computed by the reference.

    ``run`` and ``reference`` return the outputs in the same order; integer outputs (arg-max
    indices) must be equal, float outputs close.
    """

    arrays: Callable[[Case, np.random.Generator], dict[str, np.ndarray]]
    run: Callable[[Backend, Case, dict[str, Any]], Sequence[Any]]
    reference: Callable[[Case, dict[str, np.ndarray]], Sequence[np.ndarray]]


# --------------------------------------------------------------------------------------------
# The rules, one per operation
# --------------------------------------------------------------------------------------------

def _normal(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    return rng.standard_normal(tuple(shape))


def _conv_kwargs(spec: ConvSpec, size: Sequence[int]) -> dict[str, Any]:
    return dict(stride=spec.stride, padding=spec.pads(tuple(size)), dilation=spec.dilation,
                groups=spec.groups, padding_mode=spec.padding_mode)


def _conv_arrays(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    spec = case.spec
    out = spec.output_size(case.size)
    return {"x": _normal(rng, (case.batch, spec.in_channels, *case.size)),
            "w": _normal(rng, spec.weight_shape), "bias": _normal(rng, (spec.out_channels,)),
            "g": _normal(rng, (case.batch, spec.out_channels, *out))}


def _activate(y: np.ndarray, activation: str) -> np.ndarray:
    return np.where(y < 0, 0.0, y) if activation == "relu" else y


def _geometry(case: Case) -> ConvGeometry:
    return ConvGeometry.of(case.spec, case.size, case.dtype)


def _conv_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    bias = a["bias"] if case.option("bias") else None
    return [backend.conv(a["x"], a["w"], _geometry(case), bias,
                         case.option("activation", "identity"), case.option("flip", False),
                         tensor_cores=case.option("tensor_cores"))]


ROUNDING = {"tf32": round_to_tf32, "bf16": round_to_bf16, "fp16": round_to_fp16}
"""The rounding of the inputs that each tensor-core precision applies."""


def _rounding(case: Case) -> Callable[[np.ndarray], np.ndarray]:
    """The rounding of the case's tensor-core precision (none without one)."""
    return ROUNDING.get(case.option("tensor_cores"), lambda array: array)


def _conv_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    """On tensor cores: x and w rounded to their precision, then the exact correlation."""
    forward = R.convolve if case.option("flip") else R.conv
    bias = a["bias"] if case.option("bias") else None
    rounding = _rounding(case)
    x, w = (rounding(a[k]) for k in ("x", "w"))
    y = forward(x, w, bias, **_conv_kwargs(case.spec, case.size))
    return [_activate(y, case.option("activation", "identity"))]


def _data_grad_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.conv_data_grad(a["g"], a["w"], _geometry(case), case.size)]


def _data_grad_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [R.conv_input_grad(a["x"].shape, a["w"], a["g"], **_conv_kwargs(case.spec, case.size))]


def _weight_grad_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.conv_weight_grad(a["x"], a["g"], _geometry(case),
                                     tensor_cores=case.option("tensor_cores"))]


def _weight_grad_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    """On tensor cores: x and g rounded to their precision, then the exact gradient."""
    rounding = _rounding(case)
    return [R.conv_weight_grad(rounding(a["x"]), a["w"].shape, rounding(a["g"]),
                               **_conv_kwargs(case.spec, case.size))]


def _transpose_arrays(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The transposed conv's input (N, C_out, *size), weight and bias (C_in,)."""
    spec = case.spec
    return {"x": _normal(rng, (case.batch, spec.out_channels, *case.size)),
            "w": _normal(rng, spec.weight_shape), "bias": _normal(rng, (spec.in_channels,))}


def _transpose_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    spec = case.spec
    geometry = ConvGeometry(spec.kernel_size, spec.stride, spec.transposed_pads(),
                            spec.dilation, spec.groups, spec.padding_mode, case.dtype)
    bias = a["bias"] if case.option("bias") else None
    return [backend.conv_data_grad(a["x"], a["w"], geometry,
                                   spec.transposed_output_size(case.size), bias,
                                   case.option("activation", "identity"), transposed=True)]


def _transpose_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    spec = case.spec
    bias = a["bias"] if case.option("bias") else None
    y = R.conv_transpose(a["x"], a["w"], bias, stride=spec.stride,
                         padding=spec.transposed_pads(), output_padding=spec.output_padding,
                         groups=spec.groups, dilation=spec.dilation,
                         padding_mode=spec.padding_mode)
    return [_activate(y, case.option("activation", "identity"))]


def _pool_arrays(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    if isinstance(case.spec, PoolSpec):
        out = case.spec.output_size(case.size)
    else:
        out = case.spec
    return {"x": _normal(rng, (case.batch, case.channels, *case.size)),
            "g": _normal(rng, (case.batch, case.channels, *out))}


def _max_pool_arrays(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """As for any pooling, with x clipped below at 0 (windows of tied zeros: the first
    position wins) and one NaN in about 40 entries (a NaN wins its window)."""
    arrays = _pool_arrays(case, rng)
    x = np.maximum(arrays["x"], 0.0)
    x[rng.random(x.shape) < 1 / 40] = np.nan
    return {**arrays, "x": x}


def _pool_args(spec: PoolSpec) -> tuple:
    return spec.kernel_size, spec.stride, spec.padding


def _max_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return list(backend.max_pool(a["x"], case.spec))


def _max_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    s = case.spec
    return list(R.max_pool(a["x"], *_pool_args(s), s.dilation, s.ceil_mode))


def _max_backward_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    _, indices = backend.max_pool(a["x"], case.spec)
    window = None if case.option("route") else case.spec
    return [backend.max_pool_backward(a["g"], indices, case.size, window)]


def _max_backward_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    s = case.spec
    return [R.max_pool_backward(a["g"], a["x"], *_pool_args(s), s.dilation, s.ceil_mode)]


def _avg_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.avg_pool(a["x"], case.spec, case.option("count_include_pad"))]


def _avg_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    s = case.spec
    return [R.avg_pool(a["x"], *_pool_args(s), s.ceil_mode, case.option("count_include_pad"))]


def _avg_backward_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.avg_pool_backward(a["g"], case.spec, case.option("count_include_pad"),
                                      case.size)]


def _avg_backward_reference(case: Case, a: dict[str, np.ndarray]) -> list[np.ndarray]:
    s = case.spec
    return [R.avg_pool_backward(a["g"], a["x"], *_pool_args(s), s.ceil_mode,
                                case.option("count_include_pad"))]


def _adaptive_avg_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.adaptive_avg_pool(a["x"], case.spec)]


def _adaptive_avg_backward_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.adaptive_avg_pool_backward(a["g"], case.size)]


def _adaptive_max_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return list(backend.adaptive_max_pool(a["x"], case.spec))


def _adaptive_max_backward_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    _, indices = backend.adaptive_max_pool(a["x"], case.spec)
    return [backend.adaptive_max_pool_backward(a["g"], indices, case.size)]


def _pad_arrays(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    padded = padded_size(case.size, case.spec)
    return {"x": _normal(rng, (case.batch, case.channels, *case.size)),
            "g": _normal(rng, (case.batch, case.channels, *padded))}


def _pad_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.pad(a["x"], case.spec, case.option("mode"))]


def _pad_adjoint_run(backend: Backend, case: Case, a: dict[str, Any]) -> list[Any]:
    return [backend.pad_adjoint(a["g"], case.spec, case.option("mode"), case.size)]


OPS: dict[str, Op] = {
    "conv": Op(_conv_arrays, _conv_run, _conv_reference),
    "conv_data_grad": Op(_conv_arrays, _data_grad_run, _data_grad_reference),
    "conv_weight_grad": Op(_conv_arrays, _weight_grad_run, _weight_grad_reference),
    "conv_transpose": Op(_transpose_arrays, _transpose_run, _transpose_reference),
    "max_pool": Op(_max_pool_arrays, _max_run, _max_reference),
    "max_pool_backward": Op(_max_pool_arrays, _max_backward_run, _max_backward_reference),
    "avg_pool": Op(_pool_arrays, _avg_run, _avg_reference),
    "avg_pool_backward": Op(_pool_arrays, _avg_backward_run, _avg_backward_reference),
    "adaptive_avg_pool": Op(_pool_arrays, _adaptive_avg_run,
                            lambda c, a: [R.adaptive_avg_pool(a["x"], c.spec)]),
    "adaptive_avg_pool_backward": Op(_pool_arrays, _adaptive_avg_backward_run,
                                     lambda c, a: [R.adaptive_avg_pool_backward(a["g"], a["x"])]),
    "adaptive_max_pool": Op(_max_pool_arrays, _adaptive_max_run,
                            lambda c, a: list(R.adaptive_max_pool(a["x"], c.spec))),
    "adaptive_max_pool_backward": Op(
        _max_pool_arrays, _adaptive_max_backward_run,
        lambda c, a: [R.adaptive_max_pool_backward(a["g"], a["x"], c.spec)]),
    "pad": Op(_pad_arrays, _pad_run, lambda c, a: [R.pad(a["x"], c.spec, c.option("mode"))]),
    "pad_adjoint": Op(_pad_arrays, _pad_adjoint_run,
                      lambda c, a: [R.pad_adjoint(a["g"], c.spec, c.option("mode"), c.size)]),
}


# --------------------------------------------------------------------------------------------
# The representative grid
# --------------------------------------------------------------------------------------------

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _conv_family(spec: ConvSpec, size: tuple[int, ...], dtype: np.dtype,
                 **forward: Any) -> list[Case]:
    """Forward (with ``forward`` options), backward-data and backward-weight of one spec."""
    options = tuple(sorted(forward.items()))
    return [Case("conv", spec, size, dtype, options=options),
            Case("conv_data_grad", spec, size, dtype),
            Case("conv_weight_grad", spec, size, dtype)]


def _pool_family(spec: PoolSpec, size: tuple[int, ...], dtype: np.dtype) -> list[Case]:
    cases = [Case("max_pool", spec, size, dtype), Case("max_pool_backward", spec, size, dtype)]
    if all(d == 1 for d in spec.dilation):
        for include in (True, False):
            cases += [Case(op, spec, size, dtype, options=(("count_include_pad", include),))
                      for op in ("avg_pool", "avg_pool_backward")]
    return cases


def _pad_family(pads: tuple[tuple[int, int], ...], mode: str, size: tuple[int, ...],
                dtype: np.dtype) -> list[Case]:
    return [Case(op, pads, size, dtype, options=(("mode", mode),)) for op in ("pad", "pad_adjoint")]


TF32, BF16, FP16 = (("tensor_cores", precision) for precision in ("tf32", "bf16", "fp16"))
"""The option of each tensor-core precision."""


def _one_dim_cases() -> list[Case]:
    """1-D convolutions: forward, both gradients, transposed."""
    cases: list[Case] = []
    cases += _conv_family(ConvSpec(4, 6, (3,), padding=1), (9,), F32)
    cases += _conv_family(ConvSpec(4, 4, (5,), stride=2, padding=((2, 1),), dilation=2, groups=2,
                                   padding_mode="reflect"), (11,), F64, bias=True,
                          activation="relu")
    cases.append(Case("conv_transpose", ConvSpec(4, 2, (4,), stride=3, padding=1,
                                                 output_padding=2), (5,), F32,
                      options=(("bias", True),)))
    return cases


def _two_dim_cases() -> list[Case]:
    """2-D convolutions: padding modes, groups, the direct kernel, a split forward, the input
    gradient by phases, by the gather and by columns, transposed convs."""
    cases: list[Case] = []
    cases += _conv_family(ConvSpec(4, 6, (3, 3), padding=1), (6, 5), F32)
    cases += _conv_family(ConvSpec(4, 6, (3, 2), stride=(2, 1), padding=((1, 0), (1, 1)),
                                   dilation=(1, 2), groups=2, padding_mode="replicate"),
                          (7, 6), F64, bias=True, activation="relu")
    cases += _conv_family(ConvSpec(3, 3, (3, 3), padding=1, groups=3, padding_mode="circular"),
                          (5, 6), F32)
    cases.append(Case("conv", ConvSpec(4, 6, (2, 3), stride=2, padding=(1, 0), dilation=(2, 1)),
                      (7, 6), F64, options=(("flip", True),)))
    # the true convolution of narrow groups (the direct kernel)
    cases.append(Case("conv", ConvSpec(3, 6, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1),
                                       groups=3, padding_mode="reflect"), (6, 7), F64,
                      options=(("activation", "relu"), ("bias", True), ("flip", True))))
    cases.append(Case("conv", ConvSpec(2, 32, (3, 3), padding=1), (5, 5), F32,
                      options=(("bias", True),)))
    cases.append(Case("conv", ConvSpec(3, 64, (1, 1)), (4, 5), F64))
    # a forward whose sum over 128 x 9 terms is split in two, the epilogue after the sum
    cases.append(Case("conv", ConvSpec(128, 8, (3, 3), padding=1), (4, 4), F64,
                      options=(("activation", "relu"), ("bias", True))))
    # the input gradient with zero padding as a correlation per phase of the stride (strided,
    # and the transposed conv with stride 1: bias + relu, dilation, output_padding); by the
    # gather where a 1x1 kernel of stride 2 leaves phases no tap reaches, and a bias is added
    cases.append(Case("conv_data_grad", ConvSpec(3, 5, (3, 3), stride=2, padding=1), (7, 6), F32))
    # by the columns W^T g where few input channels meet many output channels (the stem)
    cases.append(Case("conv_data_grad", ConvSpec(3, 32, (7, 7), stride=2, padding=3), (11, 13),
                      F32))
    cases.append(Case("conv_transpose", ConvSpec(3, 32, (4, 4), stride=2, padding=1,
                                                 padding_mode="reflect"), (5, 6), F64,
                      options=(("activation", "relu"), ("bias", True))))
    cases.append(Case("conv_transpose", ConvSpec(4, 6, (1, 1), stride=2), (4, 3), F32,
                      options=(("bias", True),)))
    cases.append(Case("conv_transpose", ConvSpec(4, 6, (3, 3), padding=1, dilation=(2, 1),
                                                 output_padding=(1, 0)), (5, 4), F32,
                      options=(("activation", "relu"), ("bias", True))))
    cases.append(Case("conv_transpose", ConvSpec(4, 6, (3, 3), stride=2, padding=1, groups=2,
                                                 output_padding=(1, 0)), (4, 3), F64,
                      options=(("activation", "relu"), ("bias", True))))
    return cases


def _winograd_cases() -> list[Case]:
    """Winograd F(4x4, 3x3) (stride-1 3x3, wide groups): the forward with bias + relu and partial
    tiles, the input gradient (again such a correlation), the weight gradient; float64 with
    groups and asymmetric padding; dilated, a tile per residue."""
    cases: list[Case] = []
    cases += _conv_family(ConvSpec(16, 32, (3, 3), padding=1), (6, 9), F32, bias=True,
                          activation="relu")
    cases.append(Case("conv", ConvSpec(32, 32, (3, 3), padding=((0, 2), (1, 0)), groups=2),
                      (5, 7), F64))
    cases += _conv_family(ConvSpec(16, 16, (3, 3), padding=(2, 1), dilation=(2, 3)), (11, 10),
                          F32)
    return cases


def _three_dim_cases() -> list[Case]:
    """3-D convolutions."""
    cases: list[Case] = []
    cases += _conv_family(ConvSpec(2, 4, (3, 3, 3), padding=1), (4, 3, 4), F64)
    cases += _conv_family(ConvSpec(4, 4, (2, 3, 3), stride=(1, 2, 2),
                                   padding=((0, 1), (1, 1), (1, 0)), groups=2,
                                   padding_mode="circular"), (3, 5, 4), F32)
    cases.append(Case("conv_transpose", ConvSpec(2, 4, (2, 2, 3), stride=(2, 1, 2),
                                                 padding=(0, 1, 1), dilation=(1, 2, 1),
                                                 output_padding=(1, 1, 0)), (2, 3, 2), F32))
    return cases


def _tensor_cores_cases() -> list[Case]:
    """Tensor cores: partial tiles in rows, columns and reduction; groups, stride, dilation,
    reflect padding, bias + relu; the true convolution; 1-D and 3-D."""
    cases: list[Case] = []
    cases.append(Case("conv", ConvSpec(5, 70, (3, 3), padding=1), (6, 7), F32, options=(TF32,)))
    cases.append(Case("conv", ConvSpec(6, 4, (3, 2), stride=(2, 1), padding=((1, 0), (1, 1)),
                                       dilation=(1, 2), groups=2, padding_mode="reflect"),
                      (7, 6), F32, options=(("activation", "relu"), ("bias", True), TF32)))
    cases.append(Case("conv", ConvSpec(3, 9, (4,), stride=2, padding=2), (13,), F32,
                      options=(("flip", True), TF32)))
    cases.append(Case("conv", ConvSpec(2, 3, (2, 2, 2), padding=1), (3, 4, 3), F32,
                      options=(TF32,)))
    cases.append(Case("conv", ConvSpec(7, 70, (3, 3), padding=1), (6, 7), F32, options=(BF16,)))
    cases.append(Case("conv", ConvSpec(120, 20, (3, 3), padding=1), (4, 4), F32, options=(TF32,)))
    cases.append(Case("conv", ConvSpec(6, 4, (3,), stride=2, padding=1, groups=2,
                                       padding_mode="circular"), (11,), F32,
                      options=(("activation", "relu"), ("bias", True), BF16)))
    cases.append(Case("conv", ConvSpec(6, 70, (3, 3), stride=(1, 2), padding=1, groups=2),
                      (7, 9), F32, options=(("activation", "relu"), ("bias", True), FP16)))
    cases.append(Case("conv", ConvSpec(2, 5, (3, 2, 2), dilation=(2, 1, 1),
                                       padding_mode="replicate", padding=1), (5, 3, 4), F32,
                      options=(("flip", True), FP16)))
    return cases


def _weight_gradients_cases() -> list[Case]:
    """The weight gradient as a GEMM: partial tiles of filters and columns (reflect), a split sum
    (3 x 400 terms in 2 runs, groups, circular), float64 (replicate, dilation), and on tensor
    cores split in 2 (TF32, float16) or not (bfloat16, groups, stride); narrow groups by pairs,
    two chunks of taps and a split sum."""
    cases: list[Case] = []
    cases.append(Case("conv_weight_grad", ConvSpec(5, 70, (3, 3), stride=2, padding=1,
                                                   padding_mode="reflect"), (9, 8), F32))
    cases.append(Case("conv_weight_grad", ConvSpec(12, 40, (3,), padding=1, groups=2,
                                                   padding_mode="circular"), (400,), F32,
                      batch=3))
    cases.append(Case("conv_weight_grad", ConvSpec(4, 20, (3, 3), padding=2, dilation=2,
                                                   padding_mode="replicate"), (6, 7), F64))
    cases.append(Case("conv_weight_grad", ConvSpec(8, 24, (2, 3), padding=(1, 0)), (30, 20), F32,
                      options=(TF32,)))
    cases.append(Case("conv_weight_grad", ConvSpec(12, 48, (3, 3), stride=2, padding=1,
                                                   groups=2), (7, 6), F32, options=(BF16,)))
    cases.append(Case("conv_weight_grad", ConvSpec(6, 16, (3,), stride=2, padding=((2, 1),)),
                      (1100,), F32, options=(FP16,)))
    cases.append(Case("conv_weight_grad", ConvSpec(4, 4, (5, 5), padding=2, groups=4), (40, 30),
                      F32, batch=2))
    return cases


def _pooling_cases() -> list[Case]:
    """Pooling: max and average both ways, ceil_mode, dilation, adaptive."""
    cases: list[Case] = []
    cases += _pool_family(PoolSpec((3,), 2, 1, ceil_mode=True), (10,), F64)
    cases += _pool_family(PoolSpec((3, 3), 2, 1, ceil_mode=True), (7, 8), F32)
    cases += _pool_family(PoolSpec((3, 2), (2, 1), (1, 0), (2, 1)), (9, 5), F64)
    cases += _pool_family(PoolSpec((2, 2, 2), 2), (4, 5, 4), F32)
    cases += _pool_family(PoolSpec((3, 3), 2, 1), (2, 6), F32)  # one output row
    cases.append(Case("max_pool_backward", PoolSpec((3, 3), 2, 1), (7, 6), F32,
                      options=(("route", True),)))
    for op in ("adaptive_avg_pool", "adaptive_avg_pool_backward", "adaptive_max_pool",
               "adaptive_max_pool_backward"):
        cases += [Case(op, (3, 5), (7, 9), F32), Case(op, (4,), (10,), F64),
                  Case(op, (2, 3, 2), (3, 5, 4), F64)]
    return cases


def _padding_cases() -> list[Case]:
    """Padding and its transpose in every mode."""
    cases: list[Case] = []
    cases += _pad_family(((2, 1),), "reflect", (6,), F64)
    cases += _pad_family(((1, 2), (0, 3)), "replicate", (5, 4), F32)
    cases += _pad_family(((2, 2), (1, 0)), "circular", (4, 3), F64)
    cases += _pad_family(((1, 0), (0, 2), (1, 1)), "reflect", (3, 4, 3), F32)
    cases += _pad_family(((1, 1), (2, 0)), "zeros", (3, 3), F32)
    return cases

    return cases

def standard_cases() -> list[Case]:
    """The representative grid (small shapes: quick to emulate)."""
    sections = (_one_dim_cases, _two_dim_cases, _winograd_cases, _three_dim_cases,
                _tensor_cores_cases, _weight_gradients_cases, _pooling_cases, _padding_cases)
    return [case for section in sections for case in section()]


# --------------------------------------------------------------------------------------------
# Kernels of the cases, and checking a case on a device
# --------------------------------------------------------------------------------------------

class Recorder:
    """A device that keeps the launches and passes them on to ``device`` (if any)."""

    def __init__(self, device: Device | None = None) -> None:
        self.device = device
        self.xp = np if device is None else device.xp
        self.launches: list[Launch] = []

    def empty(self, shape: Sequence[int], dtype: Any) -> Any:
        if self.device is None:
            return np.zeros(tuple(shape), dtype=dtype)
        return self.device.empty(shape, dtype)

    def run(self, launch: Launch) -> None:
        self.launches.append(launch)
        if self.device is not None:
            self.device.run(launch)


def _inputs(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The case's random inputs, in its dtype."""
    return {k: v.astype(case.dtype) for k, v in OPS[case.op].arrays(case, rng).items()}


def kernels_of(case: Case, index32: bool = True) -> list[Kernel]:
    """Every kernel the backend launches for ``case``, in launch order (with ``index32``
    False, the 64-bit kernels it would launch on arrays too large for 32-bit indices)."""
    recorder = Recorder()
    backend = Backend(recorder)
    backend.index32 = index32
    OPS[case.op].run(backend, case, _inputs(case, np.random.default_rng(0)))
    return [launch.kernel for launch in recorder.launches]


def names_of(case: Case, index32: bool = True) -> str:
    """The names of the kernels ``case`` launches, in order, joined by " + "."""
    return " + ".join(kernel.name for kernel in kernels_of(case, index32))


def standard_kernels(index32: bool = True) -> list[Kernel]:
    """Every kernel the standard cases launch, each name once (:func:`kernels_of`)."""
    unique: dict[str, Kernel] = {}
    for case in standard_cases():
        for kernel in kernels_of(case, index32):
            unique.setdefault(kernel.name, kernel)
    return list(unique.values())


def relative_error(actual: np.ndarray, expected: np.ndarray, scale: float | None = None) -> float:
    """max |actual - expected| / scale, scale = max |expected| over the finite entries unless
    given (a sum's rounding error is bounded by the sum of |terms|, which cancellation can make
    far larger than |expected|); entries equal to the expected ones (-inf of an empty max
    window too) count as exact, any other non-finite entry (NaN of an unwritten output) and a
    wrong shape as infinitely wrong."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    if not np.isfinite(actual[~same]).all() or not np.isfinite(expected[~same]).all():
        return float("inf")
    if scale is None:
        scale = np.abs(expected[np.isfinite(expected)]).max(initial=0.0)
    scale = scale or 1.0
    difference = np.subtract(actual, expected, out=np.zeros(actual.shape), where=~same)
    return float(np.abs(difference).max(initial=0.0) / scale)


def check(case: Case, device: Device, rng: np.random.Generator,
          to_host: Callable[[Any], np.ndarray] = np.asarray, index32: bool = True) -> Outcome:
    """Run ``case`` on ``device`` with fresh random inputs; compare with the reference
    (``index32`` False: the 64-bit kernels, as :func:`kernels_of`)."""
    op = OPS[case.op]
    inputs = _inputs(case, rng)
    on_device = {k: device.xp.asarray(v) for k, v in inputs.items()}
    recorder = Recorder(device)
    backend = Backend(recorder)
    backend.index32 = index32
    actual = op.run(backend, case, on_device)
    kernel = " + ".join(launch.kernel.name for launch in recorder.launches)
    expected = op.reference(case, {k: v.astype(np.float64) for k, v in inputs.items()})
    if not recorder.launches or len(actual) != len(expected):
        return Outcome(kernel, False, float("inf"))  # nothing launched, or outputs missing
    error = 0.0
    for out, ref in zip(actual, expected):
        out = to_host(out)
        if out.dtype.kind == "i":
            error = max(error, 0.0 if np.array_equal(out, ref) else float("inf"))
        else:
            error = max(error, relative_error(out, ref))
    return Outcome(kernel, error <= TOLERANCE[np.dtype(case.dtype)], error)


__all__ = ["Case", "OPS", "Op", "Outcome", "Recorder", "TOLERANCE", "check", "kernels_of",
           "names_of", "relative_error", "round_to_bf16", "round_to_fp16", "round_to_tf32",
           "standard_cases", "standard_kernels"]
