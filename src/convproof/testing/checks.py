"""Checks of the convolution family: forward, transposed, and the two gradients.

The expected outputs are the derived matrices' (:mod:`.models`); on a difference the function
is probed with impulses, a zero input and random inputs (:mod:`.probe`) and the outputs are
matched against the family of known faults (:mod:`.diagnose`, :mod:`.faults`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..progress import to_stderr
from .compare import close
from .derived import derive, sum_text
from .diagnose import diagnose_linear, explain_values, match, probe_trouble, shape_difference
from .faults import FAMILY, size_formula
from .interop import Caller
from .models import Model
from .outcome import CheckResult
from .probe import impulses
from .problems import Drawn, conv_models, draw_problems, gradient_models, transposed_models
from .runner import Arrays, cast, flag, operation_name, run


# --------------------------------------------------------------------------------------------
# Convolution and transposed convolution: fn(x, w, b) -> y
# --------------------------------------------------------------------------------------------

class ConvCheck:
    """fn(x, w, b) -> y of a convolution or transposed convolution (b None without bias)."""

    arguments = ("x", "w", "b")
    outputs = ("y",)
    products = True

    def __init__(self, name: str, problems: Sequence[Model],
                 models: Callable[[Sequence[Drawn]], list[Model]], dims: int) -> None:
        self.name, self.problems, self.models, self.dims = name, problems, models, dims

    def drawn(self, rng: np.random.Generator) -> list[Model]:
        return self.models(draw_problems(self.dims, rng, self.problems[0].spec.groups))

    def draw(self, model: Model, rng: np.random.Generator, batch: int) -> Arrays:
        x = rng.standard_normal((batch, model.in_channels, *model.size))
        w = rng.standard_normal(model.spec.weight_shape)
        return x, w, rng.standard_normal(model.out_channels) if model.bias else None

    def expected(self, model: Model, args: Arrays) -> tuple[np.ndarray, ...]:
        """By the derived matrices on the fixed problems, the float64 reference on the drawn."""
        return (model.predict(args, exact=model in self.problems),)

    def diagnose(self, model: Model, call: Caller, rng: np.random.Generator, dtype: np.dtype,
                 tol: float, args: Arrays, got: tuple[np.ndarray, ...]) -> str:
        """Probe with one impulse per input channel and pixel (fixed random weight and bias)."""
        _, w, b = self.draw(model, rng, 1)
        probes = cast((impulses((model.in_channels, *model.size), rng), w, b), dtype)
        (y,) = call(*probes)
        return (probe_trouble(call, probes, (0,), y, 0, "y")
                or diagnose_linear(model, FAMILY, cast(probes, np.float64), y, tol, ("y", "x")))

    def shape_difference(self, model: Model, output: int, got: tuple[int, ...],
                         want: tuple[int, ...]) -> str:
        return shape_difference(got, want, "y", functools.partial(size_formula, model))


_CONV_DEFAULTS = dict(stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
                      output_padding=0, bias=True, kernel_size=None)


def check_conv(fn: Callable[..., Any], dims: int, *, stride: Any = 1, padding: Any = 0,
               dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
               bias: bool = True, kernel_size: Any = None, dtype: Any = np.float64,
               trials: int = 3, backend: str | Callable[[np.ndarray], Any] = "numpy",
               seed: int | None = None,
               progress: Callable[[str], None] | None = to_stderr) -> CheckResult:
    """Check ``fn(x, w, b) -> y``, a {dims}-D convolution (cross-correlation), NC(D)HW:

        y[n, o, i] = b[o] + Σ_{c < C_in/G} Σ_m w[o, c, m] x_pad[n, g·C_in/G + c, s·i + d·m]

    x (N, C_in, *n), w (C_out, C_in/groups, *k), b (C_out,) or None when ``bias=False``.
    Returns a CheckResult; raises EquivalenceError naming the fault.  ``kernel_size`` fixes
    the kernel (default: 3 per axis, then (3, 2, ...), and 5 or 6 per axis on the wide
    drawn problem); ``dtype`` is the inputs' dtype
    and the outputs' precision (a coarser output dtype is refused);
    ``backend`` "numpy", "torch", "cupy" or a callable converting each NumPy input.  A check
    running longer than 2 s reports its progress to ``progress`` (a line between calls, at
    most every 10 s; stderr by default, None for none); every check takes it.
    """
    __tracebackhide__ = True
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                   padding_mode=padding_mode)
    flag("bias", bias)
    models = functools.partial(conv_models, dims, options, kernel_size, bias)
    name = operation_name(f"conv{dims}d", options | dict(bias=bias, kernel_size=kernel_size),
                          _CONV_DEFAULTS)
    return run(ConvCheck(name, models(), models, dims), fn, trials=trials, dtype=dtype,
               backend=backend, seed=seed, progress=progress)


def check_conv_transpose(fn: Callable[..., Any], dims: int, *, stride: Any = 1,
                         padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                         dilation: Any = 1, padding_mode: str = "zeros", bias: bool = True,
                         kernel_size: Any = None, dtype: Any = np.float64, trials: int = 3,
                         backend: str | Callable[[np.ndarray], Any] = "numpy",
                         seed: int | None = None,
                         progress: Callable[[str], None] | None = to_stderr) -> CheckResult:
    """Check ``fn(x, w, b) -> y``, a {dims}-D transposed convolution (PyTorch's layout):

        y[n, o, s·i + d·m - p_lo] += w[c, o', m] x[n, c, i]   (c in group g, o = g·C_out/G + o')

    x (N, C_in, *m), w (C_in, C_out/groups, *k), b (C_out,); output size
    (m - 1)·s - p_lo - p_hi + d·(k - 1) + output_padding + 1.  Otherwise as check_conv.
    """
    __tracebackhide__ = True
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                   padding_mode=padding_mode, output_padding=output_padding)
    flag("bias", bias)
    models = functools.partial(transposed_models, dims, options, kernel_size, bias)
    name = operation_name(f"conv_transpose{dims}d",
                          options | dict(bias=bias, kernel_size=kernel_size), _CONV_DEFAULTS)
    return run(ConvCheck(name, models(), models, dims), fn, trials=trials, dtype=dtype,
               backend=backend, seed=seed, progress=progress)


# --------------------------------------------------------------------------------------------
# Backward: fn(x, w, grad_y) -> (grad_x, grad_w)
# --------------------------------------------------------------------------------------------

class BackwardCheck:
    """fn(x, w, grad_y) -> (grad_x, grad_w) of a convolution; a problem is the pair of models
    (input gradient, weight gradient)."""

    arguments = ("x", "w", "grad_y")
    outputs = ("grad_x", "grad_w")
    products = True

    def __init__(self, name: str, problems: Sequence[tuple[Model, Model]],
                 models: Callable[[Sequence[Drawn]], list[tuple[Model, Model]]], dims: int
                 ) -> None:
        self.name, self.problems, self.models, self.dims = name, problems, models, dims

    def drawn(self, rng: np.random.Generator) -> list[tuple[Model, Model]]:
        return self.models(draw_problems(self.dims, rng, self.problems[0][1].spec.groups))

    def draw(self, problem: tuple[Model, Model], rng: np.random.Generator, batch: int
             ) -> Arrays:
        input_grad, weight_grad = problem
        x = rng.standard_normal((batch, weight_grad.spec.in_channels, *weight_grad.size))
        w = rng.standard_normal(weight_grad.spec.weight_shape)
        g = rng.standard_normal((batch, input_grad.in_channels, *input_grad.size))
        return x, w, g

    def expected(self, problem: tuple[Model, Model], args: Arrays) -> tuple[np.ndarray, ...]:
        """By the derived matrices on the fixed problems, the float64 reference on the drawn."""
        input_grad, weight_grad = problem
        x, w, g = args
        exact = problem in self.problems
        return (input_grad.predict((g, w, None), exact=exact),
                weight_grad.predict((x, g), exact=exact))

    def diagnose(self, problem: tuple[Model, Model], call: Caller, rng: np.random.Generator,
                 dtype: np.dtype, tol: float, args: Arrays, got: tuple[np.ndarray, ...]) -> str:
        """grad_x: probed with impulses in grad_y; grad_w: matched on the random trial."""
        input_grad, weight_grad = problem
        want = self.expected(problem, args)
        parts = []
        if not close(got[0], want[0], tol):
            probes = impulses((input_grad.in_channels, *input_grad.size), rng)
            x = rng.standard_normal((len(probes), *args[0].shape[1:]))
            batch = cast((x, args[1], probes), dtype)
            grad_x, _ = call(*batch)
            parts.append("grad_x: " + (
                probe_trouble(call, batch, (0, 2), grad_x, 0, "grad_x")
                or diagnose_linear(input_grad, FAMILY, cast((probes, args[1], None), np.float64),
                                   grad_x, tol, ("grad_x", "grad_y"))))
        if not close(got[1], want[1], tol):
            matched = match(weight_grad, FAMILY, ((args[0], args[2]), got[1]), tol)
            if matched:
                parts.append("grad_w: " + matched)
            else:
                derivation = derive("conv", weight_grad.spec,
                                    (weight_grad.spec.in_channels, *weight_grad.size))
                parts.append("grad_w: " + explain_values(
                    got[1], want[1], tol, "grad_w", lambda tap: sum_text(
                        derivation.weight_grad_terms(tap, ("grad_y", "x"))
                        + ["(the same for every other batch element)"]), batch=False))
        return "\n  ".join(parts)

    def shape_difference(self, problem: tuple[Model, Model], output: int,
                         got: tuple[int, ...], want: tuple[int, ...]) -> str:
        if output == 1:
            return f"grad_w has shape {got}, expected {want}, the weight's shape"
        return shape_difference(got, want, "grad_x", functools.partial(size_formula, problem[0]))


def check_conv_backward(fn: Callable[..., Any], dims: int, *, stride: Any = 1, padding: Any = 0,
                        dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
                        kernel_size: Any = None, dtype: Any = np.float64, trials: int = 3,
                        backend: str | Callable[[np.ndarray], Any] = "numpy",
                        seed: int | None = None,
                        progress: Callable[[str], None] | None = to_stderr) -> CheckResult:
    """Check ``fn(x, w, grad_y) -> (grad_x, grad_w)``, the gradients of a {dims}-D convolution
    y = conv(x, w) for the output gradient grad_y:

        grad_x = Aᵀ grad_y   (the transposed convolution, output_padding giving back n)
        grad_w[o, c, m] = Σ_n Σ_i grad_y[n, o, i] x_pad[n, g·C_in/G + c, s·i + d·m]

    Options as check_conv (no bias).
    """
    __tracebackhide__ = True
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                   padding_mode=padding_mode)
    name = operation_name(f"conv{dims}d_backward", options | dict(kernel_size=kernel_size),
                          _CONV_DEFAULTS)
    models = functools.partial(gradient_models, dims, options, kernel_size)
    return run(BackwardCheck(name, models(), models, dims), fn, trials=trials, dtype=dtype,
               backend=backend, seed=seed, progress=progress)
