"""State files: a flat mapping of names to NumPy arrays in one ``.npz`` archive.

Models (``Module.save``) and optimizers (``Optimizer.save``) write their ``state_dict`` here;
the archive is read back without pickle, so a state file carries arrays and numbers only.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from typing import Any

import numpy as np


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` (name -> array or number) to ``path`` (``.npz``, uncompressed): one
    ``<name>.npy`` member per entry, as ``np.savez`` writes them, without its keyword arguments
    (an entry may be called ``file`` or ``allow_pickle``)."""
    for name in state:
        if not isinstance(name, str) or not name:
            raise ValueError(f"state names must be non-empty strings, got {name!r}")
    arrays = {name: np.asarray(value) for name, value in state.items()}
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(f"state[{name!r}] must be an array of numbers, got dtype object")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def load_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The mapping written by :func:`save_state`, as NumPy arrays; a file that is no such
    archive (a text file, a ``.npy``, a truncated or corrupted ``.npz``) is a ValueError
    naming it."""
    try:
        with zipfile.ZipFile(path) as archive:
            other = next((m for m in archive.namelist() if not m.endswith(".npy")), None)
            if other is not None:
                raise ValueError(f"it holds {other!r}, not only .npy members")
            state = {}
            for member in archive.namelist():
                with archive.open(member) as stream:
                    state[member.removesuffix(".npy")] = np.lib.format.read_array(
                        stream, allow_pickle=False)
            return state
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise  # the file's own trouble, told as the OS tells it
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, EOFError,
            NotImplementedError, RuntimeError, OSError) as error:  # encrypted, bad headers
        raise ValueError(f"{str(path)!r} is not a state file written by save(): {error}") \
            from None
