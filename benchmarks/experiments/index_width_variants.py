"""Forward-kernel variants of the index-width experiment (benchmarks/gpu-2026-11-25-h200.md).

    git checkout b2528be && python benchmarks/experiments/index_width_variants.py

Writes .exp/<layer>__<variant>__<kernel>__<bm>_<bn>_<threads>.cu for the 3x3 and 1x1
float32 forwards as commit b2528be generated them (64-bit indices), and edited: every
``long long`` renamed ``int``; each thread's outputs on neighbouring rows and columns; the
128 x 128 tile; the TF32 forward.  The edits match that commit's kernel text only (the
library has generated the 32-bit and neighbouring-output forms itself since).
"""

import re
from pathlib import Path

import numpy as np

from convproof.codegen import kernels as K
from convproof.codegen.skeleton import Tile, tile_table

FOLDER = Path(".exp")
LAYERS = {"3x3": ((3, 3), (1, 1), ((1, 1), (1, 1))), "1x1": ((1, 1), (1, 1), ((0, 0), (0, 0)))}
BIG = ((2**62, Tile(128, 128, 16, 8, 8)),)


def to32(source: str) -> str:
    return source.replace("long long", "int")


def neighbouring(source: str, tm: int, tn: int) -> str:
    """Each thread's TM rows and TN columns next to each other (vector shared loads), the
    epilogue to match, the weight tile's rows on 16 bytes."""
    source = source.replace("tile_a[kk][ty + r * ", f"tile_a[kk][ty * {tm} + r + 0 * ")
    source = source.replace("tile_b[kk][tx + u * ", f"tile_b[kk][tx * {tn} + u + 0 * ")
    source = re.sub(r"row0 \+ ty \+ r \* \d+", f"row0 + ty * {tm} + r", source)
    source = re.sub(r"col0 \+ tx \+ u \* \d+", f"col0 + tx * {tn} + u", source)
    return re.sub(r"tile_b\[16\]\[(\d+)\]",
                  lambda m: f"tile_b[16][{(int(m.group(1)) + 3) // 4 * 4}]", source)


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for layer, (kernel_size, stride, pads) in LAYERS.items():
        geometry = K.ConvGeometry(kernel_size, stride, pads, (1, 1), 1, dtype=np.float32)
        base = K.conv_forward(geometry, 256)
        with tile_table(BIG):
            big = K.conv_forward(geometry, 256)
        tf32 = K.conv_forward(geometry, 256, tensor_cores="tf32")
        variants = {"v0_64bit_t64": (base, base.source),
                    "v1_32bit_t64": (base, to32(base.source)),
                    "v2_32bit_t64_vec": (base, neighbouring(to32(base.source), 4, 4)),
                    "v3_64bit_t128": (big, big.source),
                    "v4_32bit_t128_vec": (big, neighbouring(to32(big.source), 8, 8)),
                    "v5_tf32_64bit": (tf32, tf32.source),
                    "v6_tf32_32bit": (tf32, to32(tf32.source))}
        for variant, (kernel, source) in variants.items():
            tile = kernel.tile
            name = f"{layer}__{variant}__{kernel.name}__{tile.bm}_{tile.bn}_{tile.threads}.cu"
            (FOLDER / name).write_text(source)


if __name__ == "__main__":
    main()
