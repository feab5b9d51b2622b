"""The scale a floating-point sum's rounding error is measured against.

Each output of a convolution, of its gradients and of average pooling is a sum of terms; its
rounding error is at most (number of terms) * eps * sum |term| (Higham, *Accuracy and Stability
of Numerical Algorithms*, section 4.2).  Those definitions are sums of products with
non-negative coefficients, so sum |term| is the same definition evaluated on the operands'
absolute values.  Errors are compared with that, not with |result|: cancellation can make a
result (a one-entry weight gradient, say) arbitrarily smaller than its terms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def magnitude(definition: Callable[..., np.ndarray], *operands: np.ndarray) -> float:
    """max over outputs of sum |term| = max |definition(|operand|, ...)|."""
    absolute = definition(*(np.abs(np.asarray(a, dtype=np.float64)) for a in operands))
    return float(np.abs(absolute).max(initial=0.0))
