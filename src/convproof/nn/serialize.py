"""State files: a flat mapping of names to NumPy arrays in one ``.npz`` archive.

Models (``Module.save``) and optimizers (``Optimizer.save``) write their ``state_dict`` here;
the archive is read back without pickle, so a state file carries arrays and numbers only.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` (name -> array or number) to ``path`` (``.npz``, uncompressed)."""
    for name in state:
        if not isinstance(name, str) or not name:
            raise ValueError(f"state names must be non-empty strings, got {name!r}")
    with open(path, "wb") as file:
        np.savez(file, **{name: np.asarray(value) for name, value in state.items()})


def load_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The mapping written by :func:`save_state`, as NumPy arrays."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
