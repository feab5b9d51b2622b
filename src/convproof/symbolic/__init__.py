"""Symbolic core: operators over symbolic sizes, the proof engine, exact certificates.

Public API: :func:`conv_matrix`, :func:`conv_transpose_matrix`, :func:`certify`; the engine
(:class:`Derivation`, :class:`Claim`, :class:`Theorem`) is what the files in ``proofs/`` use.
"""

from __future__ import annotations

from .language import (
    Divides,
    EqZero,
    NonNeg,
    Signal,
    ZSum,
    box,
    eq,
    in_range,
    le,
    lt,
    multi,
    scalar,
    zsum,
)
from .normal import NoPoints, ProofError, equivalent, normal_form
from .proof import (
    LEVELS,
    THEOREMS,
    Claim,
    Derivation,
    Evidence,
    Result,
    Theorem,
    dependency_order,
    induction,
    load,
    universal,
)
from .certificates import Point, certified, refuted
from .matrices import Certificate, certify, conv_matrix, conv_transpose_matrix

__all__ = [
    "Divides",
    "EqZero",
    "NonNeg",
    "Signal",
    "ZSum",
    "box",
    "eq",
    "in_range",
    "le",
    "lt",
    "multi",
    "scalar",
    "zsum",
    "NoPoints",
    "ProofError",
    "equivalent",
    "normal_form",
    "LEVELS",
    "THEOREMS",
    "Claim",
    "Derivation",
    "Evidence",
    "Result",
    "Theorem",
    "dependency_order",
    "induction",
    "load",
    "universal",
    "Point",
    "certified",
    "refuted",
    "Certificate",
    "certify",
    "conv_matrix",
    "conv_transpose_matrix",
]
