"""The NumPy backend of :mod:`convproof.functional`: zero-padding primitives and padding maps.

:mod:`convproof.functional` validates, resolves padding, casts to the compute dtype and composes
everything else (padding modes, true convolution, transposed convolution, bias, unbatched
inputs) from these functions.  Arrays are batched, (N, C, *spatial), already in a dtype of
``FLOAT_DTYPES``, with any strides; ``pads`` holds one (lo, hi) pair per spatial dim.  The GPU
backend (:mod:`convproof.gpu`) provides the same names with the same signatures (A: the
zero-padded correlation; im2col buffers are bounded by ``unfold.UNFOLD_BUFFER_BYTES``):

    pad(x, pads, mode)                              P x, mode zeros|reflect|replicate|circular
    pad_adjoint(g, pads, mode, size)                P^T g onto the spatial ``size``
    correlate(x, w, stride, pads, dilation, groups)                            y = A x
    correlate_input_grad(g, w, stride, pads, dilation, groups, input_size)     A^T g
    correlate_weight_grad(x, g, stride, pads, dilation, groups, kernel_size)   dL/dw

(the three correlations pick the fastest of the paths of :mod:`.conv`: pointwise, depthwise,
phases (strided input gradients), winograd, im2col; a keyword ``path=`` forces one)
    max_pool(x, pool_spec) -> (y, flat_indices)
    max_pool_backward(g, flat_indices, input_size, spec=None, returned=False)
    avg_pool(x, pool_spec, count_include_pad)
    avg_pool_backward(g, pool_spec, count_include_pad, input_size)
    adaptive_avg_pool(x, output_size);   adaptive_avg_pool_backward(g, input_size)
    adaptive_max_pool(x, output_size) -> (y, flat_indices)
    adaptive_max_pool_backward(g, flat_indices, input_size, returned=False)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..arrays import FLOAT_DTYPES
from .adaptive import adaptive_avg_pool, adaptive_avg_pool_backward, adaptive_max_pool
from .conv import correlate, correlate_input_grad, correlate_weight_grad
from .maxima import max_pool_backward
from .padding import pad, pad_adjoint
from .pool import avg_pool, avg_pool_backward, max_pool


def adaptive_max_pool_backward(g: np.ndarray, indices: np.ndarray,
                               input_size: Sequence[int], returned: bool = False
                               ) -> np.ndarray:
    """Adaptive max pooling routes the error by its arg-max indices, as max pooling does
    (wherever they point: whether adaptive_max_pool ``returned`` them is not needed)."""
    return max_pool_backward(g, indices, input_size)


__all__ = [
    "FLOAT_DTYPES", "adaptive_avg_pool", "adaptive_avg_pool_backward", "adaptive_max_pool",
    "adaptive_max_pool_backward", "avg_pool", "avg_pool_backward", "correlate",
    "correlate_input_grad", "correlate_weight_grad", "max_pool", "max_pool_backward", "pad",
    "pad_adjoint",
]
