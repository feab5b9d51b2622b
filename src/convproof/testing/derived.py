"""The derived matrices in numeric form: conv_matrix and conv_transpose_matrix as tap tables.

An entry of a derived matrix is a linear form in the weight symbols w[o,c,m...].  Flattened
once into a table of entries e = (row, column, tap, coefficient), it gives for weight values w

    A(w)[row, col] = Σ_{e at (row, col)} coeff_e · w[tap_e]

and, for y = A(w) x over a batch n, the weight gradient

    grad_w[q] = Σ_n Σ_{e with tap_e = q} coeff_e · g[n, row_e] · x[n, col_e].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import sympy

from ..spec import ConvSpec
from ..symbolic import conv_matrix, conv_transpose_matrix

_MATRICES: dict[str, Callable] = {"conv": conv_matrix, "conv_transpose": conv_transpose_matrix}
SHOWN_TERMS = 6


def element(name: str, index: tuple[int, ...]) -> str:
    """'x[0,1,2,3]'."""
    return f"{name}[{','.join(str(int(i)) for i in index)}]"


def sum_text(terms: list[str]) -> str:
    """The first SHOWN_TERMS terms joined by +, then how many more there are."""
    if not terms:
        return "0"
    shown = " + ".join(terms[:SHOWN_TERMS])
    return shown if len(terms) <= SHOWN_TERMS else f"{shown} + ... ({len(terms)} terms)"


@dataclass(frozen=True)
class Derivation:
    """A derived matrix (symbolic), its weight symbols and its tap table, for one spec and size."""

    matrix: sympy.SparseMatrix
    weights: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray
    coeffs: np.ndarray

    def numeric(self, w: np.ndarray) -> np.ndarray:
        """A(w) as a dense float64 matrix."""
        dense = np.zeros(self.matrix.shape)
        np.add.at(dense, (self.rows, self.cols), self.coeffs * w.ravel()[self.taps])
        return dense

    def apply(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """y[n] = A(w) x[n] for x of shape (N, *in_shape)."""
        flat = x.reshape(x.shape[0], -1)
        return (flat @ self.numeric(w).T).reshape((x.shape[0], *self.out_shape))

    def weight_grad(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        """grad_w[q] = Σ_n Σ_{tap_e = q} coeff_e g[n, row_e] x[n, col_e]."""
        products = (g.reshape(g.shape[0], -1)[:, self.rows]
                    * x.reshape(x.shape[0], -1)[:, self.cols]).sum(axis=0)
        grad = np.bincount(self.taps, weights=self.coeffs * products, minlength=self.weights.size)
        return grad.reshape(self.weights.shape)

    def row_terms(self, out_index: tuple[int, ...], input_name: str) -> list[str]:
        """Row ``out_index`` = (n, o, i...) as terms 'w[1,0,0,0]*x[0,0,0,4]' in the symbols."""
        batch, *position = out_index
        row = int(np.ravel_multi_index(tuple(position), self.out_shape))
        terms = []
        for (_, col), entry in sorted(self.matrix[row, :].todok().items()):
            factor = f"({entry})" if isinstance(entry, sympy.Add) else str(entry)
            source = (batch, *np.unravel_index(col, self.in_shape))
            terms.append(f"{factor}*{element(input_name, source)}")
        return terms

    def weight_grad_terms(self, tap: tuple[int, ...], names: tuple[str, str]) -> list[str]:
        """grad_w[tap] as terms 'g[0,0,0,0]*x[0,0,1,2]' of batch element 0 (summed over n)."""
        q = int(np.ravel_multi_index(tap, self.weights.shape))
        terms = []
        for e in np.flatnonzero(self.taps == q):
            coeff = sympy.nsimplify(self.coeffs[e])
            prefix = "" if coeff == 1 else f"{coeff}*"
            out_index = (0, *np.unravel_index(self.rows[e], self.out_shape))
            in_index = (0, *np.unravel_index(self.cols[e], self.in_shape))
            terms.append(f"{prefix}{element(names[0], out_index)}*{element(names[1], in_index)}")
        return terms


@functools.lru_cache(maxsize=64)
def derive(kind: str, spec: ConvSpec, in_shape: tuple[int, ...]) -> Derivation:
    """The derived matrix of ``kind`` ("conv" or "conv_transpose") on inputs of (C, *size)."""
    matrix, weights = _MATRICES[kind](spec, in_shape)
    index = {symbol: flat for flat, symbol in enumerate(weights.ravel())}
    table = [(row, col, index[symbol], float(coeff))
             for (row, col), entry in matrix.todok().items()
             for symbol, coeff in entry.as_coefficients_dict().items()]
    rows, cols, taps = (np.array([e[k] for e in table], dtype=np.int64) for k in range(3))
    size = tuple(in_shape[1:])
    out_shape = ((spec.out_channels, *spec.output_size(size)) if kind == "conv"
                 else (spec.in_channels, *spec.transposed_output_size(size)))
    return Derivation(matrix, weights, tuple(in_shape), tuple(int(v) for v in out_shape),
                      rows, cols, taps, np.array([e[3] for e in table], dtype=np.float64))
