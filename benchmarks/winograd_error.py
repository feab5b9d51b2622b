"""Float32 error of F(m x m, 3 x 3) against the float64 reference, for m = 2, 4, 6.

    python benchmarks/winograd_error.py

For standard-normal inputs and weights (and ReLU-like non-negative inputs), prints the error of
each float32 path relative to the largest output of the float64 result,

    err = max |y32 - y64| / max |y64|,

beside the direct im2col GEMM in float32, and the exact amplification β/r of the transforms at
the points the CPU path uses (convproof.symbolic.winograd.growth, points_for).
benchmarks/NOTES.md records the table and the choice.
"""

from __future__ import annotations

import numpy as np

from convproof.cpu import conv, winograd
from convproof.symbolic.winograd import growth, points_for

SHAPES = [(4, 64, 64, 28), (2, 256, 256, 14), (2, 512, 512, 7)]
TILES = (2, 4, 6)


def error(y32: np.ndarray, y64: np.ndarray) -> float:
    return float(np.abs(y32.astype(np.float64) - y64).max() / np.abs(y64).max())


def main() -> None:
    rng = np.random.default_rng(0)
    print("| input | C | direct f32 | " + " | ".join(f"F({m}x{m},3x3)" for m in TILES) + " |")
    print("|---|---:|---:|" + "---:|" * len(TILES))
    for batch, channels, out_channels, size in SHAPES:
        for kind in ("normal", "relu"):
            x = rng.standard_normal((batch, channels, size, size))
            if kind == "relu":
                x = np.maximum(x, 0)
            w = rng.standard_normal((out_channels, channels, 3, 3)) / np.sqrt(9 * channels)
            args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
            exact = conv.correlate(x, w, *args, path="im2col")
            x32, w32 = x.astype(np.float32), w.astype(np.float32)
            direct = error(conv.correlate(x32, w32, *args, path="im2col"), exact)
            tiles = [error(winograd.correlate(x32, w32, *args, tile=m), exact) for m in TILES]
            print(f"| {kind} {size}x{size} | {channels} | {direct:.1e} | "
                  + " | ".join(f"{e:.1e} ({e / direct:.0f}x)" for e in tiles) + " |")
    print()
    print("| F(m,3) | points (the CPU path's) | β/r (exact) | (β/r)² for 2-D |")
    print("|---|---|---:|---:|")
    for m in TILES:
        points = points_for(m, 3)
        beta = growth(m, 3, points).amplification
        print(f"| F({m},3) | {', '.join(map(str, points))} | {beta} = {float(beta):.3g} | "
              f"{float(beta) ** 2:.3g} |")


if __name__ == "__main__":
    main()
