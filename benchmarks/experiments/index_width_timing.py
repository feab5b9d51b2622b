"""Time the variants of index_width_variants.py beside cuDNN (CUDA events, median of 20).

    python benchmarks/experiments/index_width_timing.py    # on a GPU; table to $OUT or .

Each variant runs on fresh random inputs, checked against cuDNN in float64 (max relative
error), then both are timed: cuDNN in strict FP32, or with TF32 allowed for the TF32 variants.
"""

import functools
import os
import statistics
from pathlib import Path

import cupy
import numpy as np
import torch

from convproof.gpu.bench import event_times
from convproof.gpu.module import OPTIONS

SHAPES = {"3x3": [(256, 256, 256, 14), (64, 64, 64, 56), (128, 128, 128, 28)],
          "1x1": [(256, 256, 256, 14), (64, 256, 64, 56)]}
"""(N, C_in, C_out, H = W) of each layer."""


def median_ms(thunk, repeats: int = 20) -> float:
    return statistics.median(event_times(thunk, repeats))


def main() -> None:
    rng, lines = np.random.default_rng(), []
    for path in sorted(Path(".exp").glob("*.cu")):
        layer, variant, name, tile = path.stem.split("__")
        bm, bn, threads = map(int, tile.split("_"))
        index = np.int32 if "32bit" in variant else np.int64
        function = cupy.RawModule(code=path.read_text(), options=OPTIONS).get_function(name)
        k = int(layer[0])
        for n, c, k_out, h in SHAPES[layer]:
            x = cupy.asarray(rng.standard_normal((n, c, h, h), dtype=np.float32))
            w = cupy.asarray(rng.standard_normal((k_out, c, k, k), dtype=np.float32))
            y = cupy.full((n, k_out, h, h), np.nan, np.float32)
            args = (x, w, y, *(index(v) for v in (n, c, k_out, h, h, h, h, 1)))
            grid = (-(-n * h * h // bm), -(-k_out // bn), 1)
            ours = functools.partial(function, grid, (threads,), args)
            ours()
            tx, tw = torch.as_tensor(x, device="cuda"), torch.as_tensor(w, device="cuda")
            with torch.backends.cudnn.flags(enabled=True, benchmark=True,
                                            allow_tf32="tf32" in variant):
                exact = torch.nn.functional.conv2d(tx.double(), tw.double(), padding=k // 2)
                error = float((torch.as_tensor(y, device="cuda").double() - exact).abs().max()
                              / exact.abs().max())
                ours_ms = median_ms(ours)
                peer_ms = median_ms(functools.partial(torch.nn.functional.conv2d, tx, tw,
                                                      padding=k // 2))
            gflops = 2 * n * c * k_out * k * k * h * h / ours_ms / 1e6
            line = (f"{layer} N={n} {c}->{k_out} {h}x{h} {variant:20s} ours {ours_ms:7.3f} ms "
                    f"cudnn {peer_ms:7.3f} ms ratio {peer_ms / ours_ms:5.2f} {gflops:7.0f} "
                    f"GFLOP/s err {error:.1e}")
            print(line, flush=True)
            lines.append(line)
    Path(os.environ.get("OUT", "."), "variants.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
