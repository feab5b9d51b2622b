"""Launch configurations of the generated kernels: grid, block and arguments.

    elementwise kernels     blocks of ``kernel.threads`` threads over ``total`` outputs, at most
                            ELEMENTWISE_BLOCKS blocks (the kernels loop with a grid stride)
    implicit GEMM           grid (ceil(rows/BM), ceil(columns/BN), G x splits), one block per
                            tile and run of the sum (:func:`splits_for`)
    one block per pair      grid (pairs, chunks of taps, splits), the narrow weight
                            gradient's fixed-order reductions (:func:`per_pair`)

A grid beyond CUDA's limits (x < 2^31, y and z < 2^16) is refused with the sizes that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..codegen.kernels import Kernel, Tile
from ..spec import ceil_div

MAX_GRID = (2**31 - 1, 65535, 65535)
ELEMENTWISE_BLOCKS = 2**20
"""More blocks than a GPU holds at once; the elementwise kernels stride over the rest."""
SPLIT_BLOCKS = 528
"""The blocks a split reduction aims at: four for each of an H200's 132 SMs."""
SPLIT_TERMS = 512
"""The fewest terms a run of a split sum adds (batch x output pixels in the weight gradient,
C_in/G x taps in the forward): 32 stages of 16, 64 of 8."""


@dataclass(frozen=True)
class Launch:
    """A kernel launch: grid and block shapes and the arguments in parameter order."""

    kernel: Kernel
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    args: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.args) != len(self.kernel.params):
            names = ", ".join(p.name for p in self.kernel.params)
            raise ValueError(f"{self.kernel.name} takes {len(self.kernel.params)} arguments "
                             f"({names}), got {len(self.args)}")
        for axis, (size, limit) in enumerate(zip(self.grid, MAX_GRID)):
            if not 1 <= size <= limit:
                raise ValueError(f"{self.kernel.name}: grid dimension {axis} = {size} is outside "
                                 f"[1, {limit}]")


def _tile(kernel: Kernel) -> Tile:
    if kernel.tile is None:
        raise ValueError(f"{kernel.name} is not a tiled kernel")
    return kernel.tile


def elementwise(kernel: Kernel, total: int, args: Sequence[Any]) -> Launch:
    """One thread per output element, ``total`` of them."""
    blocks = max(1, min(ceil_div(total, kernel.threads), ELEMENTWISE_BLOCKS))
    return Launch(kernel, (blocks, 1, 1), (kernel.threads, 1, 1), tuple(args))


def gemm(kernel: Kernel, rows: int, columns: int, groups: int, args: Sequence[Any]) -> Launch:
    """One block per BM x BN tile of each group's (rows x columns) output."""
    tile = _tile(kernel)
    grid = (ceil_div(rows, tile.bm), ceil_div(columns, tile.bn), groups)
    return Launch(kernel, grid, (tile.threads, 1, 1), tuple(args))


def tiles(kernel: Kernel, rows: int, columns: int, groups: int) -> int:
    """The tiles of a GEMM kernel over rows x columns x groups."""
    tile = _tile(kernel)
    return ceil_div(rows, tile.bm) * ceil_div(columns, tile.bn) * groups


def splits_for(blocks: int, terms: int) -> int:
    """How many runs of equal length a sum over ``terms`` is cut into, for a launch of
    ``blocks`` blocks a run:

        splits = min(ceil(SPLIT_BLOCKS / blocks), floor(terms / SPLIT_TERMS)), at least 1,

    so blocks x splits stays below SPLIT_BLOCKS + blocks.  A rule of the shape alone: the
    order of every sum is the same on each run."""
    return max(1, min(ceil_div(SPLIT_BLOCKS, blocks), terms // SPLIT_TERMS))


def per_pair(kernel: Kernel, pairs: int, chunks: int, splits: int, args: Sequence[Any]
             ) -> Launch:
    """One block per (filter, channel) pair, chunk of taps and run of the sum."""
    return Launch(kernel, (pairs, chunks, splits), (kernel.threads, 1, 1), tuple(args))


__all__ = ["ELEMENTWISE_BLOCKS", "Launch", "MAX_GRID", "SPLIT_BLOCKS", "SPLIT_TERMS",
           "elementwise", "gemm", "per_pair", "splits_for", "tiles"]
