"""The theorem catalog: every id, its section and the levels it must reach.

Levels, strongest first: universal (symbolic sizes, every step checked), certified (exact on
a stated grid), refuted (a false claim with its witness), numeric (float checks; never enough).
An id that lists several levels must reach each of them.
"""

from __future__ import annotations

from dataclasses import dataclass

_SECTIONS = {
    "Convolution as a matrix": [
        ("banded-matrix", "universal"),
        ("seed-banded-example", "certified"),
        ("toeplitz-structure", "universal"),
        ("multichannel-groups", "universal"),
        ("im2col-factorization", "universal"),
        ("one-by-one-is-dense", "universal"),
        ("efficiency-counts", "universal"),
        ("unshared-and-tiled", "certified"),
    ],
    "Sizes": [
        ("output-size", "universal"),
        ("conv-arithmetic-relations", "universal"),
        ("same-padding", "universal"),
        ("transposed-output-size", "universal"),
        ("receptive-field", "universal"),
    ],
    "Equivariance and invariance": [
        ("translation-equivariance", "universal"),
        ("strided-equivariance", "universal refuted"),
        ("zero-padding-border", "universal refuted"),
        ("layer-equivariance", "universal"),
        ("rotation-scale", "universal refuted"),
        ("pooling-invariance", "universal refuted"),
    ],
    "Convolution versus cross-correlation": [
        ("flip-equivalence", "universal"),
        ("commutativity", "universal refuted"),
        ("associativity", "universal"),
        ("dilation-as-sparse-kernel", "universal"),
        ("separable-kernels", "certified"),
        ("convolution-theorem", "universal"),
    ],
    "Backward pass and transposed convolution": [
        ("transposed-is-adjoint", "universal"),
        ("grad-input-flip", "universal"),
        ("grad-weight", "universal"),
        ("grad-bias", "universal"),
        ("stride-is-subsampling", "universal"),
        ("matrix-backward", "universal"),
        ("correlation-convolution-duality", "universal"),
        ("padding-adjoint", "universal"),
        ("pooling-backward", "universal certified"),
        ("jacobian-crosscheck", "certified"),
    ],
    "Layers and training": [
        ("batchnorm", "universal"),
        ("dropout-expectation", "universal"),
        ("init-variance", "universal"),
        ("adam-bias-correction", "universal"),
        ("activation-derivatives", "universal"),
        ("softmax-xent-gradient", "universal"),
    ],
    "Fast algorithms (built with the speed work)": [
        ("winograd-transform", "universal"),
    ],
}


@dataclass(frozen=True)
class Entry:
    id: str
    section: str
    levels: tuple[str, ...]


CATALOG: dict[str, Entry] = {
    theorem_id: Entry(theorem_id, section, tuple(levels.split()))
    for section, rows in _SECTIONS.items()
    for theorem_id, levels in rows
}
SECTIONS: list[str] = list(_SECTIONS)


def module_name(theorem_id: str) -> str:
    """The module proofs/<name>.py of a catalog id."""
    return theorem_id.replace("-", "_")
