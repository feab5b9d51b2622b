"""Validate every generated kernel on a GPU and write the log summary (date and machine).

    python benchmarks/gpu_validate.py [--out benchmarks/gpu_validation.md] [--quick]
                                      [--steps kernels,tests,bench,tiles,widths]
                                      [--previous JSON]

The steps, all by default, in this order:

    kernels   every kernel of the standard set on the GPU against the float64 reference, with
              32-bit and with 64-bit indices
              (outputs poisoned with NaN before each run, every launch synchronized and its
              CUDA error checked)
    tests     the GPU tests (``pytest tests -m gpu``: functional on CuPy arrays against
              PyTorch/cuDNN and the reference on random specs, the layers on CuPy), their
              pass/fail counts
    bench     the benchmark rows timed with CUDA events (median after warm-up); --quick: the
              small layers
    tiles     the forward of every conv layer under each candidate tile table
              (``convproof.gpu.bench.TILE_CANDIDATES``), the data for the tile table, and
              in TF32 under each tensor-core tile (``TENSOR_CORE_CANDIDATES``)
    widths    the forward of every conv layer with 64-bit and with 32-bit index arithmetic,
              and by Winograd F(4x4, 3x3) where it applies, in strict FP32; the two widths
              in TF32 (``convproof.gpu.bench.width_rows``)

The summary goes to --out as Markdown and beside it as JSON, written again after every step,
so a run cut short keeps the steps it finished.  A step that fails in one case (a wrong
result, a failed launch) records it and goes on, unless the fault is one CUDA keeps (an
illegal address): then every later call in the process would fail, so the step ends there
(with the tables of candidates after it), the summary says which steps did not run, and a new
process resumes them.  --previous starts from the JSON of an earlier run, so steps run in
separate calls add up to one summary.  The
exit status is non-zero when a kernel, a test or a benchmark row fails.  Needs CuPy, PyTorch
with CUDA, a GPU and convproof installed (``pip install --no-deps --no-build-isolation -e .``
works offline where its dependencies are there).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from convproof.gpu.bench import DEVICE_MEMORY, context_lost

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
    from convproof.gpu.bench import LOST, context_lost, failure
    from convproof.gpu.module import CupyDevice

    device, rng = CupyDevice(checked=True), np.random.default_rng(seed)
    outcomes = []
    for index32 in (True, False):  # the 32-bit variants, then the 64-bit kernels
        for case in standard.standard_cases():
            try:
                outcomes.append(standard.check(case, device, rng, cupy.asnumpy, index32)
                                .as_json())
            except Exception as exc:  # a failed launch: recorded, the other cases still run
                lost = context_lost()
                outcomes.append({"kernel": standard.names_of(case, index32), "ok": False,
                                 "max_rel_err": float("inf"),
                                 "error": failure(exc) + (f"; {LOST}" if lost else "")})
                if lost:
                    return outcomes
    return outcomes


def test_suite() -> dict:
    command = [sys.executable, "-m", "pytest", "tests", "-m", "gpu", "-q", "-p",
               "no:cacheprovider"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return {"command": " ".join(command[1:]), "status": result.returncode,
            "summary": (result.stdout.strip().splitlines() or ["(no output)"])[-1],
            "failures": [line for line in result.stdout.splitlines()
                         if line.startswith("FAILED")]}


def _verdict(outcome: dict) -> str:
    if outcome["ok"]:
        return "yes"
    return f"NO ({outcome['error']})" if "error" in outcome else "NO"


def _bench_line(row: dict) -> str:
    if "error" in row:
        return f"| {row['layer']} | {row['op']} | failed: {row['error']} | | | | | | |"
    share = "-" if row["ours_peak"] is None else f"{100 * row['ours_peak']:.0f}%"
    return (f"| {row['layer']} | {row['op']} | {row['ours_ms']:.3f} | {row['peer_ms']:.3f} "
            f"| {row['ratio']:.2f} | {row['ours_gflops']:.0f} | {share} "
            f"| {row['ours_mib']:.1f} | {row['peer_mib']:.1f} |")


def _candidates(title: str, rows: list[dict]) -> list[str]:
    """A table of candidates timed side by side (tile tables, index widths), the fastest
    named in each row; a candidate that a row does not time shows "-" there."""
    names = list(dict.fromkeys(name for row in rows for name in row
                               if name not in ("layer", "errors")))
    return ["", title, "", "| layer | " + " | ".join(names) + " | fastest |",
            "|---|" + "---:|" * len(names) + "---|", *(_tile_line(row, names) for row in rows)]


def _tile_line(row: dict, names: list[str]) -> str:
    timed = [name for name in names if row.get(name) is not None]
    fastest = min(timed, key=lambda name: row[name]) if timed else "-"
    cells = ["-" if name not in row else "failed" if row[name] is None else f"{row[name]:.3f}"
             for name in names]
    errors = "".join(f" ({name}: {error})" for name, error in row.get("errors", {}).items())
    return f"| {row['layer']} | " + " | ".join(cells) + f" | {fastest}{errors} |"


def markdown(report: dict) -> str:
    """The summary of the steps ``report`` holds."""
    lines = [f"# GPU validation: {report['date']}", "",
             "- machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
             "- commands: " + "; ".join(f"`{command}`" for command in report["commands"]),
             "- steps: " + ", ".join(f"{step} {seconds:.0f} s"
                                     for step, seconds in report["seconds"].items())]
    if "lost" in report:
        lines.append(f"- stopped: {report['lost']}")
    kernels = report.get("kernels", [])
    failed = [k for k in kernels if not k["ok"]]
    if "kernels" in report:
        lines.append(f"- standard set: {len(kernels) - len(failed)} of {len(kernels)} cases "
                     f"match the float64 reference (seed {report['seed']}; tolerance 1e-12 "
                     "float64, 1e-5 float32)")
    if "tests" in report:
        lines.append(f"- GPU tests (`{report['tests']['command']}`): "
                     f"{report['tests']['summary']}")
        lines += [f"  - {line}" for line in report["tests"]["failures"]]
    if kernels:
        lines += ["", "| kernels (in launch order) | ok | max rel. error |", "|---|---|---:|"]
        lines += [f"| {k['kernel']} | {_verdict(k)} | {k['max_rel_err']:.2e} |" for k in kernels]
    if report.get("bench"):
        peaks = [r["peak_gflops"] for r in report["bench"] if "peak_gflops" in r]
        peak = f"{peaks[0]:.0f} GFLOP/s" if peaks else "not measured"
        lines += ["", f"## Speed (CUDA events, median; FP32 peak measured {peak})", "",
                  "| layer | pass | ours ms | torch ms | ratio | ours GFLOP/s | % peak "
                  "| ours MiB | torch MiB |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [_bench_line(row) for row in report["bench"]]
        lines += ["", f"MiB: {DEVICE_MEMORY}."]
    if report.get("tiles"):
        lines += _candidates("## Tile tables (forward, strict FP32; rows TF32: tensor-core "
                             "tiles; CUDA events, median ms)", report["tiles"])
    if report.get("widths"):
        lines += _candidates("## Index widths and Winograd (forward, strict FP32 and TF32, "
                             "CUDA events, median ms)", report["widths"])
    return "\n".join(lines) + "\n"


def _bench(args: argparse.Namespace) -> list[dict]:
    from convproof.gpu.bench import event_rows
    return event_rows(args.quick, progress=lambda line: print(line, flush=True))


def _tiles(args: argparse.Namespace) -> list[dict]:
    from convproof.gpu.bench import tile_rows
    return tile_rows(progress=lambda line: print(line, flush=True))


def _widths(args: argparse.Namespace) -> list[dict]:
    from convproof.gpu.bench import width_rows
    return width_rows(progress=lambda line: print(line, flush=True))


STEPS: dict[str, Callable[[argparse.Namespace], object]] = {
    "kernels": lambda args: standard_set(args.seed), "tests": lambda args: test_suite(),
    "bench": _bench, "tiles": _tiles, "widths": _widths}


def failures(report: dict) -> list[str]:
    """What failed in ``report``: kernels, the tests, benchmark rows, tile tables, widths."""
    found = [k["kernel"] for k in report.get("kernels", []) if not k["ok"]]
    if report.get("tests", {}).get("status", 0) != 0:
        found.append(f"tests: {report['tests']['summary']}")
    found += [f"{r['layer']} {r['op']}" for r in report.get("bench", []) if "error" in r]
    found += [f"{r['layer']} tile tables" for r in report.get("tiles", []) if "errors" in r]
    found += [f"{r['layer']} index widths" for r in report.get("widths", []) if "errors" in r]
    return found + ([report["lost"]] if "lost" in report else [])


def _steps(text: str) -> list[str]:
    steps = [step.strip() for step in text.split(",") if step.strip()]
    unknown = [step for step in steps if step not in STEPS]
    if unknown or not steps:
        raise argparse.ArgumentTypeError(f"steps must be among {', '.join(STEPS)}, got {text!r}")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "gpu_validation.md"))
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--quick", action="store_true", help="bench: the small layers")
    parser.add_argument("--steps", type=_steps, default=list(STEPS),
                        help=f"comma-separated, among {','.join(STEPS)} (default: all)")
    parser.add_argument("--previous", help="the JSON of an earlier run to add these steps to")
    args = parser.parse_args(argv)
    report = (json.loads(Path(args.previous).read_text()) if args.previous
              else {"commands": [], "seconds": {}})
    report.pop("lost", None)  # this process starts with a new context
    arguments = argv if argv is not None else sys.argv[1:]
    report["commands"].append(" ".join(["python benchmarks/gpu_validate.py", *arguments]))
    report |= {"date": datetime.date.today().isoformat(), "machine": machine(),
               "seed": args.seed}
    out = Path(args.out)
    for done, step in enumerate(args.steps):
        print(f"== {step}", flush=True)
        start = time.perf_counter()
        report[step] = STEPS[step](args)
        report["seconds"][step] = time.perf_counter() - start
        rest = args.steps[done + 1:]
        if rest and context_lost():  # every later step would fail: a new process resumes
            report["lost"] = (f"the CUDA context was lost in step {step}; not run: "
                              f"--steps {','.join(rest)} --previous {out.with_suffix('.json')}")
        out.write_text(markdown(report))
        out.with_suffix(".json").write_text(json.dumps(report, indent=2))
        if "lost" in report:
            break
    failed = failures(report)
    print(f"wrote {out}; {len(failed)} failure(s)" + "".join(f"\n  {f}" for f in failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
