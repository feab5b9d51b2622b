"""Validate every generated kernel on a GPU and write the log summary (date and machine).

    python benchmarks/gpu_validate.py [--out benchmarks/gpu_validation.md] [--quick] [--no-bench]

1. every kernel of the standard set on the GPU against the float64 reference (outputs poisoned
   with NaN before each run, every launch synchronized and its CUDA error checked);
2. the GPU test suite (tests/test_gpu_backend.py: functional on CuPy arrays against
   PyTorch/cuDNN and the reference on random specs), its pass/fail counts;
3. unless --no-bench, the benchmark rows timed with CUDA events (median after warm-up);
4. unless --no-bench, the forward of every conv layer under each candidate tile table
   (``convproof.gpu.bench.TILE_CANDIDATES``), the data for the tile table.

The summary goes to --out as Markdown (and beside it as JSON); the exit status is non-zero
when a kernel or a test fails.  Needs CuPy, PyTorch with CUDA and a GPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict[str, str]:
    import cupy
    import torch

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.runtime.getDevice())
    return {"gpu": props["name"].decode(), "capability": f"{props['major']}.{props['minor']}",
            "driver": str(cupy.cuda.runtime.driverGetVersion()),
            "cuda runtime": str(cupy.cuda.runtime.runtimeGetVersion()),
            "cupy": cupy.__version__, "torch": torch.__version__,
            "cudnn": str(torch.backends.cudnn.version()), "python": platform.python_version(),
            "host": f"{platform.system()} {platform.machine()}"}


def standard_set(seed: int) -> list[dict]:
    import cupy

    from convproof.gpu import standard
    from convproof.gpu.module import CupyDevice

    device, rng = CupyDevice(checked=True), np.random.default_rng(seed)
    return [standard.check(case, device, rng, to_host=cupy.asnumpy).as_json()
            for case in standard.standard_cases()]


def test_suite() -> dict:
    command = [sys.executable, "-m", "pytest", "tests/test_gpu_backend.py", "-m", "gpu", "-q",
               "-p", "no:cacheprovider"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return {"command": " ".join(command[1:]), "status": result.returncode,
            "summary": (result.stdout.strip().splitlines() or ["(no output)"])[-1],
            "failures": [line for line in result.stdout.splitlines()
                         if line.startswith("FAILED")]}


def markdown(report: dict) -> str:
    kernels = report["kernels"]
    failed = [k for k in kernels if not k["ok"]]
    lines = [f"# GPU validation: {report['date']}", "",
             "- machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
             f"- command: `python benchmarks/gpu_validate.py {report['arguments']}`",
             f"- standard set: {len(kernels) - len(failed)} of {len(kernels)} cases match the "
             f"float64 reference (seed {report['seed']}; tolerance 1e-12 float64, 1e-5 float32)",
             f"- GPU tests (`{report['tests']['command']}`): {report['tests']['summary']}", ""]
    lines += [f"  - {line}" for line in report["tests"]["failures"]]
    lines += ["| kernels (in launch order) | ok | max rel. error |", "|---|---|---:|"]
    lines += [f"| {k['kernel']} | {'yes' if k['ok'] else 'NO'} | {k['max_rel_err']:.2e} |"
              for k in kernels]
    if report.get("bench"):
        peak = report["bench"][0]["peak_gflops"]
        lines += ["", f"## Speed (CUDA events, median; FP32 peak measured {peak:.0f} GFLOP/s)",
                  "", "| layer | pass | ours ms | torch ms | ratio | ours GFLOP/s | % peak |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in report["bench"]:
            share = "-" if r["ours_peak"] is None else f"{100 * r['ours_peak']:.0f}%"
            lines.append(f"| {r['layer']} | {r['op']} | {r['ours_ms']:.3f} | {r['peer_ms']:.3f} "
                         f"| {r['ratio']:.2f} | {r['ours_gflops']:.0f} | {share} |")
    if report.get("tiles"):
        names = [name for name in report["tiles"][0] if name != "layer"]
        lines += ["", "## Tile tables (forward, strict FP32, CUDA events, median ms)", "",
                  "| layer | " + " | ".join(names) + " | fastest |",
                  "|---|" + "---:|" * len(names) + "---|"]
        for row in report["tiles"]:
            fastest = min(names, key=lambda name: row[name])
            lines.append(f"| {row['layer']} | "
                         + " | ".join(f"{row[name]:.3f}" for name in names) + f" | {fastest} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "gpu_validation.md"))
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--quick", action="store_true", help="the small benchmark layers")
    parser.add_argument("--no-bench", action="store_true", help="skip the timing")
    args = parser.parse_args(argv)
    report = {"date": datetime.date.today().isoformat(), "machine": machine(),
              "arguments": " ".join(argv if argv is not None else sys.argv[1:]),
              "seed": args.seed, "kernels": standard_set(args.seed), "tests": test_suite()}
    if not args.no_bench:
        from convproof.gpu.bench import event_rows, tile_rows
        report["bench"] = event_rows(args.quick, progress=lambda line: print(line, flush=True))
        report["tiles"] = tile_rows(progress=lambda line: print(line, flush=True))
    out = Path(args.out)
    out.write_text(markdown(report))
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    failed = [k["kernel"] for k in report["kernels"] if not k["ok"]]
    print(f"wrote {out}; {len(failed)} kernel(s) failed; tests: {report['tests']['summary']}")
    return 1 if failed or report["tests"]["status"] != 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
