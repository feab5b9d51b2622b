"""Equivalence checks for anyone's convolution, with a diagnosis of what is wrong.

    import convproof as cp
    cp.testing.check_conv2d(my_conv, stride=2, padding=1)   # my_conv(x, w, b) -> y

A check runs the function on random inputs of a few chosen sizes and compares it with the
derived operation (the banded matrices of :mod:`convproof.symbolic`).  A correct function
passes and gets a :class:`CheckResult`; a wrong one raises :class:`EquivalenceError`, whose
message names the fault found by probing the function with impulses: kernel flipped or
transposed, padding off at the start or the end, stride or dilation misapplied, channel or group
order, bias missing or doubled, output size, or two of these at once; otherwise the first
output that differs, with its expected expression.  ``CHECKS`` maps each operation name (as
used by the pytest fixture ``conv_checker`` and by ``convproof check``) to its check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .checks import check_conv, check_conv_backward, check_conv_transpose
from .outcome import CheckResult, EquivalenceError
from .pools import check_avg_pool, check_max_pool

__all__ = [
    "CHECKS", "CheckResult", "EquivalenceError",
    "check_conv1d", "check_conv2d", "check_conv3d",
    "check_conv_transpose1d", "check_conv_transpose2d", "check_conv_transpose3d",
    "check_conv1d_backward", "check_conv2d_backward", "check_conv3d_backward",
    "check_max_pool1d", "check_max_pool2d", "check_max_pool3d",
    "check_avg_pool1d", "check_avg_pool2d", "check_avg_pool3d",
]


def _for_dims(generic: Callable[..., Any], dims: int, name: str) -> Callable[..., Any]:
    """``generic`` with its number of spatial dims fixed, under its public name."""
    signature = inspect.signature(generic)
    parameters = [p for p in signature.parameters.values() if p.name != "dims"]
    accepted = [p.name for p in parameters[1:]]

    def check(fn: Callable[..., Any], **options: Any) -> CheckResult:
        __tracebackhide__ = True
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise TypeError(f"check_{name}() takes no option {unknown[0]!r}; its options: "
                            f"{', '.join(accepted)}")
        missing = [p.name for p in parameters[1:]
                   if p.default is inspect.Parameter.empty and p.name not in options]
        if missing:  # the generic function's own TypeError would name it, not check_{name}
            raise TypeError(f"check_{name}() needs the option {missing[0]!r}")
        return generic(fn, dims, **options)
    check.__name__ = check.__qualname__ = f"check_{name}"
    check.__doc__ = (generic.__doc__ or "").replace("{dims}", str(dims))
    check.__signature__ = signature.replace(parameters=parameters)  # help() shows the options
    return check


_GENERIC = {"conv{}d": check_conv, "conv_transpose{}d": check_conv_transpose,
            "conv{}d_backward": check_conv_backward, "max_pool{}d": check_max_pool,
            "avg_pool{}d": check_avg_pool}
CHECKS: dict[str, Callable[..., CheckResult]] = {
    template.format(dims): _for_dims(generic, dims, template.format(dims))
    for template, generic in _GENERIC.items() for dims in (1, 2, 3)
}

check_conv1d, check_conv2d, check_conv3d = (CHECKS[f"conv{d}d"] for d in (1, 2, 3))
check_conv_transpose1d, check_conv_transpose2d, check_conv_transpose3d = (
    CHECKS[f"conv_transpose{d}d"] for d in (1, 2, 3))
check_conv1d_backward, check_conv2d_backward, check_conv3d_backward = (
    CHECKS[f"conv{d}d_backward"] for d in (1, 2, 3))
check_max_pool1d, check_max_pool2d, check_max_pool3d = (CHECKS[f"max_pool{d}d"] for d in (1, 2, 3))
check_avg_pool1d, check_avg_pool2d, check_avg_pool3d = (CHECKS[f"avg_pool{d}d"] for d in (1, 2, 3))
